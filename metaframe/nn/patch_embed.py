"""The ViT patch embedding: non-overlapping patches, learned positions that resize to any grid.

The core of the image, infrared, X-ray and hyperspectral (spatial mode) tokenizers; each plugin
keeps its own tokenizer class (defaults, options, docs) on top of it. State-dict keys:
``proj.weight``, ``proj.bias``, ``pos_embed``. ``FittablePatchEmbed2d`` adds the options the
single-channel plugins (infrared, X-ray) share: dataset statistics fitted on training images
(keys ``norm_mean``, ``norm_std``, ``norm_fitted``) and ``init_from`` an image tokenizer.
"""

from __future__ import annotations

import os
from typing import Any, Iterable, Mapping, Optional, Union

import torch
from torch import nn

from metaframe.collate import iter_sample_tensors
from metaframe.tokens import TokenBatch

from metaframe.nn.pos_embed import resize_pos_embed
from metaframe.nn.projection import load_patch_projection


class PatchEmbed2d(nn.Module):
    """``Conv2d(C, D, kernel=patch, stride=patch)`` + a learned ``[1, h*w, D]`` position table.

    ``image_size`` sets the table's grid; other sizes (multiples of the patch or not: the
    remainder is dropped by the convolution) interpolate it bicubically.
    """

    def __init__(self, embed_dim: int, in_channels: int = 3, patch_size: int = 16, image_size: int = 224) -> None:
        super().__init__()
        if patch_size < 1 or image_size % patch_size:
            raise ValueError(f"image_size {image_size} is not a multiple of patch_size {patch_size}")
        self.embed_dim = embed_dim
        self.in_channels = in_channels
        self.patch_size = patch_size
        self.grid = (image_size // patch_size, image_size // patch_size)
        self.proj = nn.Conv2d(in_channels, embed_dim, kernel_size=patch_size, stride=patch_size)
        self.pos_embed = nn.Parameter(torch.zeros(1, self.grid[0] * self.grid[1], embed_dim))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)

    @torch.no_grad()
    def load_projection_from(self, source: Any, prefix: Optional[str] = None, option: str = "source") -> None:
        """Initialise from a trained image tokenizer of any channel count (module, state dict or
        ``.safetensors`` file; see ``metaframe.nn.load_patch_projection``): projection with its
        channels adapted, bias, and positions resized to this grid (kept when the source has none)."""
        parts = load_patch_projection(
            source, embed_dim=self.embed_dim, patch_size=self.patch_size, in_channels=self.in_channels,
            prefix=prefix, option=option,
        )
        self.proj.weight.copy_(parts.weight)
        if self.proj.bias is not None:
            self.proj.bias.copy_(parts.bias if parts.bias is not None else torch.zeros_like(self.proj.bias))
        if parts.pos_embed is not None and parts.grid is not None:
            self.pos_embed.copy_(resize_pos_embed(parts.pos_embed, parts.grid, self.grid))

    def forward(self, images: torch.Tensor) -> TokenBatch:
        if images.dim() != 4 or images.shape[1] != self.in_channels:
            raise ValueError(
                f"expected images [batch, {self.in_channels}, height, width], got {tuple(images.shape)}: read with "
                f"channels={self.in_channels}, or build the tokenizer with in_channels= the images' channel count"
            )
        h, w = images.shape[-2:]
        if h < self.patch_size or w < self.patch_size:
            raise ValueError(f"image {h}x{w} is smaller than one {self.patch_size}x{self.patch_size} patch")
        x = self.proj(images)  # [B, D, h', w']
        grid = (x.shape[-2], x.shape[-1])
        tokens = x.flatten(2).transpose(1, 2)
        return TokenBatch(tokens + resize_pos_embed(self.pos_embed, self.grid, grid).to(tokens.dtype))


NORMALIZE_CHOICES = ("none", "dataset")


class FittablePatchEmbed2d(PatchEmbed2d):
    """``PatchEmbed2d`` with optional dataset statistics and initialisation from an image tokenizer.

    ``normalize="dataset"``: ``(x - mean) / std`` per channel with statistics from ``fit``, saved
    in the state dict and as JSON (``fitted_state``); the reader should then not normalise.
    ``init_from``: a trained image tokenizer (module, state dict or ``.safetensors``) whose
    projection is adapted to this one's channels (RGB summed into one, see
    ``load_patch_projection``); ``init_prefix`` picks it inside a larger checkpoint.
    """

    def __init__(
        self,
        embed_dim: int,
        in_channels: int = 1,
        patch_size: int = 16,
        image_size: int = 224,
        normalize: str = "none",
        init_from: Union[str, "os.PathLike[str]", Mapping[str, torch.Tensor], nn.Module, None] = None,
        init_prefix: Optional[str] = None,
    ) -> None:
        super().__init__(embed_dim, in_channels=in_channels, patch_size=patch_size, image_size=image_size)
        if normalize not in NORMALIZE_CHOICES:
            raise ValueError(f"normalize={normalize!r}: expected one of {', '.join(NORMALIZE_CHOICES)}")
        self.normalize = normalize
        self.register_buffer("norm_mean", torch.zeros(in_channels))
        self.register_buffer("norm_std", torch.ones(in_channels))
        self.register_buffer("norm_fitted", torch.zeros((), dtype=torch.bool))
        if init_from is not None:
            self.load_projection_from(init_from, prefix=init_prefix, option="init_from")

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
