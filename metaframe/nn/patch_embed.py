"""The ViT patch embedding: non-overlapping patches, learned positions that resize to any grid.

The core of the image, infrared, X-ray and hyperspectral (spatial mode) tokenizers; each plugin
keeps its own tokenizer class (defaults, options, docs) on top of it. State-dict keys:
``proj.weight``, ``proj.bias``, ``pos_embed``.
"""

from __future__ import annotations

from typing import Any, Optional

import torch
from torch import nn

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
                f"expected images [batch, {self.in_channels}, height, width], got {tuple(images.shape)}"
            )
        h, w = images.shape[-2:]
        if h < self.patch_size or w < self.patch_size:
            raise ValueError(f"image {h}x{w} is smaller than one {self.patch_size}x{self.patch_size} patch")
        x = self.proj(images)  # [B, D, h', w']
        grid = (x.shape[-2], x.shape[-1])
        tokens = x.flatten(2).transpose(1, 2)
        return TokenBatch(tokens + resize_pos_embed(self.pos_embed, self.grid, grid).to(tokens.dtype))
