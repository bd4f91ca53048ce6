"""Resizing a learned 2-D positional table, so one tokenizer serves every image size."""

from __future__ import annotations

from typing import Tuple

import torch
import torch.nn.functional as F


def resize_pos_embed(pos: torch.Tensor, old_grid: Tuple[int, int], new_grid: Tuple[int, int]) -> torch.Tensor:
    """Bicubic interpolation of ``[1, h*w, D]`` learned positions (row-major grid) to another grid."""
    old_grid, new_grid = tuple(old_grid), tuple(new_grid)
    if pos.dim() != 3 or pos.shape[1] != old_grid[0] * old_grid[1]:
        raise ValueError(f"positions of shape {tuple(pos.shape)} do not fill a {old_grid[0]}x{old_grid[1]} grid [1, h*w, D]")
    if old_grid == new_grid:
        return pos
    d = pos.shape[-1]
    grid = pos.reshape(1, old_grid[0], old_grid[1], d).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=new_grid, mode="bicubic", align_corners=False)
    return grid.permute(0, 2, 3, 1).reshape(1, new_grid[0] * new_grid[1], d)
