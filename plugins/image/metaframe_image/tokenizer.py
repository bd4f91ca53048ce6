"""The ViT patch tokenizer: non-overlapping patches, learned positions that resize."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from metaframe.tokens import TokenBatch


def resize_pos_embed(pos: torch.Tensor, old_grid: tuple[int, int], new_grid: tuple[int, int]) -> torch.Tensor:
    """Bicubic interpolation of ``[1, h*w, D]`` learned positions to another grid."""
    if old_grid == new_grid:
        return pos
    d = pos.shape[-1]
    grid = pos.reshape(1, old_grid[0], old_grid[1], d).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=new_grid, mode="bicubic", align_corners=False)
    return grid.permute(0, 2, 3, 1).reshape(1, new_grid[0] * new_grid[1], d)


def sum_input_channels(weight: torch.Tensor, in_channels: int) -> torch.Tensor:
    """Adapt a patch projection ``[D, C, p, p]`` to ``in_channels`` (1: sum over C, as timm does)."""
    c = weight.shape[1]
    if c == in_channels:
        return weight
    if in_channels == 1:
        return weight.sum(1, keepdim=True)
    repeats = math.ceil(in_channels / c)
    return weight.repeat(1, repeats, 1, 1)[:, :in_channels] * (c / in_channels)


class PatchTokenizer(nn.Module):
    """``Conv2d(C, D, kernel=patch, stride=patch)`` + learned positional embedding."""

    def __init__(self, embed_dim: int, in_channels: int = 3, patch_size: int = 16, image_size: int = 224) -> None:
        super().__init__()
        if image_size % patch_size:
            raise ValueError(f"image_size {image_size} is not a multiple of patch_size {patch_size}")
        self.embed_dim = embed_dim
        self.in_channels = in_channels
        self.patch_size = patch_size
        self.grid = (image_size // patch_size, image_size // patch_size)
        self.proj = nn.Conv2d(in_channels, embed_dim, kernel_size=patch_size, stride=patch_size)
        self.pos_embed = nn.Parameter(torch.zeros(1, self.grid[0] * self.grid[1], embed_dim))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)

    def load_projection_from(self, other: "PatchTokenizer") -> None:
        """Initialise from another tokenizer (e.g. a 3-channel image one) of any channel count."""
        with torch.no_grad():
            self.proj.weight.copy_(sum_input_channels(other.proj.weight, self.in_channels))
            if other.proj.bias is not None and self.proj.bias is not None:
                self.proj.bias.copy_(other.proj.bias)
            self.pos_embed.copy_(resize_pos_embed(other.pos_embed, other.grid, self.grid))

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
