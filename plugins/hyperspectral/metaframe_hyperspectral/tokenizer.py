"""The hyperspectral tokenizer (Meta-Transformer's Indian Pines recipe, any number of bands).

``mode="band"``: a pixel's k×k neighbourhood ``[bands, k, k]`` becomes one token per band (or
per group of adjacent bands): ``Linear(group * k * k → D)`` plus a learned position per band
group; the sequence length is ``ceil(bands / group)`` (the last group zero-padded).
``mode="spatial"``: a whole cube ``[bands, H, W]`` becomes ViT patch tokens
(``metaframe.nn.PatchEmbed2d`` with ``in_channels = bands``), for whole-image classification.
Both normalise each band first with statistics fitted on training data.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import torch
import torch.nn.functional as F
from torch import nn

from metaframe.nn import PatchEmbed2d
from metaframe.tokens import TokenBatch

from .band_norm import BandNormalizer

MODES = ("band", "spatial")


class SpectralTokenizer(nn.Module):
    def __init__(
        self,
        embed_dim: int,
        num_bands: int = 200,
        mode: str = "band",
        neighbourhood: int = 7,
        band_group: int = 1,
        patch_size: int = 16,
        image_size: int = 224,
        normalize: str = "minmax",
    ) -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"mode={mode!r}: expected 'band' (per-band tokens of a pixel neighbourhood) or 'spatial' (patches)")
        if num_bands < 1 or band_group < 1 or neighbourhood < 1:
            raise ValueError(f"num_bands ({num_bands}), band_group ({band_group}) and neighbourhood ({neighbourhood}) must be >= 1")
        self.embed_dim = embed_dim
        self.num_bands = num_bands
        self.mode = mode
        self.neighbourhood = neighbourhood
        self.band_group = band_group
        self.norm = BandNormalizer(num_bands, normalize)
        if mode == "band":
            self.num_groups = math.ceil(num_bands / band_group)
            self.proj = nn.Linear(band_group * neighbourhood * neighbourhood, embed_dim)
            self.pos_embed = nn.Parameter(torch.zeros(1, self.num_groups, embed_dim))
            nn.init.trunc_normal_(self.pos_embed, std=0.02)
        else:
            self.patches = PatchEmbed2d(embed_dim, in_channels=num_bands, patch_size=patch_size, image_size=image_size)

    # -- FittableTokenizer: the per-band statistics --------------------------------------
    def fit(self, samples: Iterable[Any]) -> None:
        """Fit per-band statistics on training cubes / neighbourhoods (or ``(sample, target)`` pairs)."""
        self.norm.fit(samples)

    def fitted_state(self) -> dict[str, Any]:
        return self.norm.fitted_state()

    def load_fitted_state(self, state: dict[str, Any]) -> None:
        self.norm.load_fitted_state(state)

    # -- forward ----------------------------------------------------------------------
    def _check(self, cubes: torch.Tensor) -> None:
        if cubes.dim() != 4:
            raise ValueError(f"expected cubes [batch, bands, height, width], got shape {tuple(cubes.shape)}")
        if cubes.shape[1] != self.num_bands:
            raise ValueError(
                f"expected {self.num_bands} bands, got {cubes.shape[1]} (shape {tuple(cubes.shape)}); "
                "build the tokenizer with num_bands= the cube's band count, and read with "
                f"bands={self.num_bands} so a file with another count is refused by name"
            )
        k = self.neighbourhood
        if self.mode == "band" and tuple(cubes.shape[-2:]) != (k, k):
            raise ValueError(
                f"band mode takes {k}x{k} pixel neighbourhoods (neighbourhood={k}), got {cubes.shape[-2]}x{cubes.shape[-1]}; "
                "sample neighbourhoods with metaframe_hyperspectral.neighbourhoods.Neighbourhoods (the modality's "
                "dataset), or use mode='spatial' for whole images"
            )

    def forward(self, cubes: torch.Tensor) -> TokenBatch:
        self._check(cubes)
        x = self.norm(cubes)
        if self.mode == "spatial":
            return self.patches(x)
        b = x.shape[0]
        missing = self.num_groups * self.band_group - self.num_bands
        if missing:
            x = F.pad(x, (0, 0, 0, 0, 0, missing))  # zero bands complete the last group
        groups = x.reshape(b, self.num_groups, -1)  # adjacent bands' k×k values, flattened
        tokens = self.proj(groups) + self.pos_embed.to(x.dtype)
        return TokenBatch(tokens)
