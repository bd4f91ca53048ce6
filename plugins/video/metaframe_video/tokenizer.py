"""The tubelet tokenizer: ``Conv3d(C, D, kernel=(t, p, p), stride=(t, p, p))`` + positions.

Positions are separable and learned: a time embedding per tubelet step plus a space
embedding per patch of the grid (``T' + H'W'`` vectors instead of ``T'H'W'``). Other clip
lengths or sizes interpolate them (time: linear, space: bicubic, as the image tokenizer does),
so one tokenizer serves any ``num_frames`` / ``size`` that are multiples of the tubelet.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from metaframe.nn import resize_pos_embed
from metaframe.tokens import TokenBatch

from .geometry import pair, warn_if_long


def resize_time_embed(pos: torch.Tensor, steps: int) -> torch.Tensor:
    """Linear interpolation of ``[1, T', D]`` learned time positions to ``steps``."""
    if pos.shape[1] == steps:
        return pos
    return F.interpolate(pos.transpose(1, 2), size=steps, mode="linear", align_corners=False).transpose(1, 2)


class TubeletTokenizer(nn.Module):
    """Clips ``[B, C, T, H, W]`` → ``T/t · H/p · W/p`` tokens, ordered time-major (t, then rows).

    ``max_tokens``: warn above this many tokens per clip (default 2048). ``inflate_from``: an
    image tokenizer (module, state dict or ``.safetensors`` path) whose patch projection and
    positions initialise this one, by ``inflation`` = ``average`` | ``central`` (see inflate.py).
    """

    def __init__(
        self,
        embed_dim: int,
        in_channels: int = 3,
        num_frames: int = 16,
        image_size: int | Sequence[int] = 224,
        tubelet_size: int = 2,
        patch_size: int = 16,
        max_tokens: int | None = None,
        inflate_from: Any = None,
        inflation: str = "average",
        inflate_prefix: str | None = None,
    ) -> None:
        super().__init__()
        h, w = pair(image_size, "image_size")
        for name, value, unit in (
            ("num_frames", num_frames, tubelet_size),
            ("image_size height", h, patch_size),
            ("image_size width", w, patch_size),
        ):
            if unit < 1 or value < unit or value % unit:
                raise ValueError(
                    f"{name} {value} must be a positive multiple of the tubelet "
                    f"(tubelet_size={tubelet_size}, patch_size={patch_size})"
                )
        self.embed_dim = embed_dim
        self.in_channels = in_channels
        self.tubelet_size = tubelet_size
        self.patch_size = patch_size
        self.max_tokens = max_tokens
        self.grid = (num_frames // tubelet_size, h // patch_size, w // patch_size)
        kernel = (tubelet_size, patch_size, patch_size)
        self.proj = nn.Conv3d(in_channels, embed_dim, kernel_size=kernel, stride=kernel)
        self.time_embed = nn.Parameter(torch.zeros(1, self.grid[0], embed_dim))
        self.space_embed = nn.Parameter(torch.zeros(1, self.grid[1] * self.grid[2], embed_dim))
        nn.init.trunc_normal_(self.time_embed, std=0.02)
        nn.init.trunc_normal_(self.space_embed, std=0.02)
        self._warn(self.grid, f"{num_frames} frames of {h}x{w} with tubelet ({tubelet_size}, {patch_size}, {patch_size})")
        if inflate_from is not None:
            from .inflate import inflate_into

            inflate_into(self, inflate_from, inflation, inflate_prefix)

    @property
    def num_tokens(self) -> int:
        """Tokens per clip at the configured size."""
        return self.grid[0] * self.grid[1] * self.grid[2]

    def _warn(self, grid: tuple[int, int, int], what: str) -> None:
        kwargs = {} if self.max_tokens is None else {"limit": self.max_tokens}
        warn_if_long(grid[0] * grid[1] * grid[2], what, **kwargs)

    def positions(self, grid: tuple[int, int, int]) -> torch.Tensor:
        """``[1, T'·H'·W', D]``: time + space embeddings, interpolated to ``grid``."""
        time = resize_time_embed(self.time_embed, grid[0])
        space = resize_pos_embed(self.space_embed, self.grid[1:], grid[1:])
        return (time[:, :, None, :] + space[:, None, :, :]).flatten(1, 2)

    def forward(self, clips: torch.Tensor) -> TokenBatch:
        if clips.dim() != 5 or clips.shape[1] != self.in_channels:
            raise ValueError(
                f"expected clips [batch, {self.in_channels}, frames, height, width], got {tuple(clips.shape)} "
                "(the video reader returns [C, T, H, W] per clip; read with channels="
                f"{self.in_channels}, or build the tokenizer with in_channels= the clips' channel count)"
            )
        t, h, w = clips.shape[-3:]
        unit = (self.tubelet_size, self.patch_size, self.patch_size)
        if any(n < u or n % u for n, u in zip((t, h, w), unit)):
            raise ValueError(
                f"clip of {t} frames at {h}x{w} does not divide into tubelets {unit}; read clips with "
                f"num_frames a multiple of {unit[0]} and size a multiple of {unit[1]}"
            )
        grid = (t // unit[0], h // unit[1], w // unit[2])
        if grid != self.grid:
            self._warn(grid, f"a clip of {t} frames at {h}x{w}")
        x = self.proj(clips)  # [B, D, T', H', W']
        tokens = x.flatten(2).transpose(1, 2)
        return TokenBatch(tokens + self.positions(grid).to(tokens.dtype))
