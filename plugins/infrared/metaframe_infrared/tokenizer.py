"""The single-channel patch tokenizer: the image plugin's PatchTokenizer, 1 channel by default,
with optional dataset statistics fitted on training images and saved with the tokenizer.

Shared by metaframe-infrared and metaframe-xray (both single-channel images in the paper).
"""

from __future__ import annotations

import os
from typing import Any, Iterable, Mapping

import torch
from torch import nn

from metaframe.collate import iter_sample_tensors
from metaframe.tokens import TokenBatch
from metaframe_image.tokenizer import PatchTokenizer

from .transfer import load_image_projection

NORMALIZE_CHOICES = ("none", "dataset")


class SingleChannelPatchTokenizer(PatchTokenizer):
    """``Conv2d(C=1, D, patch, patch)`` + learned positions (see ``PatchTokenizer``).

    ``normalize="dataset"``: ``(x - mean) / std`` per channel with statistics from ``fit`` (use
    the reader's ``normalize="none"`` then). ``init_from``: a saved image tokenizer
    (``.safetensors``, a state dict or a ``PatchTokenizer``) whose RGB projection is summed into
    this one's channel; ``init_prefix`` picks it inside a larger checkpoint.
    """

    def __init__(
        self,
        embed_dim: int,
        in_channels: int = 1,
        patch_size: int = 16,
        image_size: int = 224,
        normalize: str = "none",
        init_from: str | os.PathLike[str] | Mapping[str, torch.Tensor] | nn.Module | None = None,
        init_prefix: str | None = None,
    ) -> None:
        super().__init__(embed_dim, in_channels=in_channels, patch_size=patch_size, image_size=image_size)
        if normalize not in NORMALIZE_CHOICES:
            raise ValueError(f"normalize={normalize!r}: expected one of {', '.join(NORMALIZE_CHOICES)}")
        self.normalize = normalize
        self.register_buffer("norm_mean", torch.zeros(in_channels))
        self.register_buffer("norm_std", torch.ones(in_channels))
        self.register_buffer("norm_fitted", torch.zeros((), dtype=torch.bool))
        if init_from is not None:
            load_image_projection(self, init_from, init_prefix)

    # -- FittableTokenizer --------------------------------------------------------------
    @torch.no_grad()
    def fit(self, samples: Iterable[Any]) -> None:
        """Per-channel mean and std over every pixel of the training images (float64 sums)."""
        total = torch.zeros(self.in_channels, dtype=torch.float64)
        total_sq = torch.zeros(self.in_channels, dtype=torch.float64)
        count = 0
        for image in iter_sample_tensors(samples, 3, "images [C, H, W]"):
            if image.shape[0] != self.in_channels:
                raise ValueError(f"fit: image has {image.shape[0]} channels, this tokenizer expects {self.in_channels}")
            x = image.detach().to("cpu", torch.float64).flatten(1)
            total += x.sum(1)
            total_sq += (x * x).sum(1)
            count += x.shape[1]
        if count == 0:
            raise ValueError("fit: no images given")
        mean = total / count
        std = (total_sq / count - mean * mean).clamp_min(0).sqrt().clamp_min(1e-6)
        self.norm_mean.copy_(mean.float())
        self.norm_std.copy_(std.float())
        self.norm_fitted.fill_(True)

    def fitted_state(self) -> dict[str, Any]:
        return {
            "normalize": self.normalize,
            "fitted": bool(self.norm_fitted),
            "mean": self.norm_mean.tolist(),
            "std": self.norm_std.tolist(),
        }

    @torch.no_grad()
    def load_fitted_state(self, state: dict[str, Any]) -> None:
        mean, std = state.get("mean"), state.get("std")
        if mean is None or std is None or len(mean) != self.in_channels or len(std) != self.in_channels:
            raise ValueError(
                f"fitted state needs 'mean' and 'std' with {self.in_channels} value(s), got {mean!r} and {std!r}"
            )
        if any(s <= 0 for s in std):
            raise ValueError(f"fitted state: std must be positive, got {std}")
        self.norm_mean.copy_(torch.tensor(mean, dtype=torch.float32))
        self.norm_std.copy_(torch.tensor(std, dtype=torch.float32))
        self.norm_fitted.fill_(bool(state.get("fitted", True)))

    # -- forward ----------------------------------------------------------------------
    def forward(self, images: torch.Tensor) -> TokenBatch:
        if self.normalize == "dataset":
            if not bool(self.norm_fitted):
                raise RuntimeError(
                    "tokenizer built with normalize='dataset' is not fitted: call .fit(training images) "
                    "or .load_fitted_state(state) first, or build it with normalize='none'"
                )
            if images.dim() == 4 and images.shape[1] == self.in_channels:
                shape = (1, -1, 1, 1)
                images = (images - self.norm_mean.view(shape).to(images.dtype)) / self.norm_std.view(shape).to(images.dtype)
        return super().forward(images)
