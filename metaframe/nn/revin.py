"""Reversible instance normalisation (RevIN, Kim et al. 2022) over the real steps of each series.

Each series and channel is shifted and scaled by its own mean and std. A tokenizer puts the
inverse map into ``TokenBatch.extras`` (``metaframe.extras.REVIN_LOC`` / ``REVIN_SCALE``,
``[B, C]``) so a head can return values in the data's units with :func:`undo_revin`:
``y = y_norm * scale + loc``. With ``affine=True`` the learned per-channel weight / bias are
folded into that map. Used by time_series and imu.
"""

from __future__ import annotations

import torch
from torch import nn


class RevIN(nn.Module):
    """``values`` ``[B, T, C]`` + ``mask`` ``[B, T]`` → (normalised values, loc ``[B, C]``, scale ``[B, C]``)."""

    def __init__(self, channels: int, eps: float = 1e-5, affine: bool = False) -> None:
        super().__init__()
        self.channels = channels
        self.eps = eps
        self.affine = affine
        if affine:
            self.weight = nn.Parameter(torch.ones(channels))
            self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, values: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Padding (``mask`` False) neither enters the statistics nor leaves the zeros it holds."""
        w = mask.to(values.dtype).unsqueeze(-1)
        count = w.sum(1).clamp_min(1.0)
        mean = (values * w).sum(1) / count
        var = (((values - mean[:, None]) ** 2) * w).sum(1) / count
        std = torch.sqrt(var + self.eps)
        normed = (values - mean[:, None]) / std[:, None]
        loc, scale = mean, std
        if self.affine:
            normed = normed * self.weight + self.bias
            weight = self.weight + self.eps * self.eps
            scale = std / weight
            loc = mean - self.bias * scale
        return normed * w, loc, scale


def undo_revin(values: torch.Tensor, loc: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Undo RevIN on ``[B, steps, C]`` values with ``[B, C]`` statistics (steps may be a horizon)."""
    return values * scale[:, None, :] + loc[:, None, :]
