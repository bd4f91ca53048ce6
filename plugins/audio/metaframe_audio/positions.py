"""Learned positions over the (frequency, time) patch grid, adapted to other grids.

Time positions are absolute (a patch's column means the same instant in every clip): a shorter
grid takes the first columns of the table, so a clip's tokens do not depend on the batch it is
in; a longer grid, or another number of mel bins, is interpolated (bilinear, as AST does).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def adapt_pos_embed(table: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """``[1, D, f0, t0]`` → ``[1, D, f, t]``: frequency interpolated, time cropped or interpolated."""
    f, t = grid
    f0, t0 = table.shape[-2:]
    if f != f0:
        table = F.interpolate(table, size=(f, t0), mode="bilinear", align_corners=False)
    if t <= t0:
        return table[..., :t]
    return F.interpolate(table, size=(f, t), mode="bilinear", align_corners=False)
