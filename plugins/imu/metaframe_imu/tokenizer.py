"""The IMU tokenizer: patches over time of a window ``[C, T]``.

``projection="channel"``: every channel cut into patches and projected by one shared
``Linear(patch_len, D)`` plus a learned channel embedding — the core's
``metaframe.nn.SeriesPatchTokenizer`` (time_series' patch tokenizer is built on it too); tokens of a channel the source lacked (an optional
group, ``present=False``) are masked out. ``projection="joint"``: one token per time patch,
``Linear(C * patch_len, D)`` over all channels at once (absent channels enter as zeros).
Both add sinusoidal patch positions; ``normalize="revin"`` optionally standardises each
window and channel (off by default: IMU amplitude carries information, e.g. activity intensity).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from metaframe import extras as keys
from metaframe.nn import RevIN, SeriesPatchTokenizer, check_min_length, extract_patches, sinusoidal_positions
from metaframe.series import SeriesBatch
from metaframe.tokens import TokenBatch

from .sample import IMUBatch

PROJECTIONS = ("channel", "joint")


def as_series_batch(batch: Any) -> tuple[SeriesBatch, torch.Tensor]:
    """An IMUBatch (or a ``[B, C, T]`` tensor, all real) as a time-major SeriesBatch plus ``present`` ``[B, C]``."""
    if isinstance(batch, IMUBatch):
        series = SeriesBatch(batch.values.transpose(1, 2), batch.mask, batch.lengths, None, list(batch.sources))
        return series, batch.present
    if isinstance(batch, torch.Tensor) and batch.dim() == 3:
        b, c, _ = batch.shape
        present = torch.ones(b, c, dtype=torch.bool, device=batch.device)
        return SeriesBatch.full(batch.float().transpose(1, 2)), present
    shape = tuple(batch.shape) if hasattr(batch, "shape") else type(batch).__name__
    raise TypeError(f"expected an IMUBatch (from collate_imu) or a [batch, channels, steps] tensor, got {shape}")


class IMUTokenizer(nn.Module):
    def __init__(
        self,
        embed_dim: int,
        in_channels: int = 6,
        patch_len: int = 16,
        stride: int | None = None,
        projection: str = "channel",
        normalize: str = "none",
        pad_end: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if projection not in PROJECTIONS:
            raise ValueError(f"projection={projection!r}: expected one of {', '.join(PROJECTIONS)}")
        if normalize not in ("none", "revin"):
            raise ValueError(f"normalize={normalize!r}: expected 'none' or 'revin'")
        self.embed_dim = embed_dim
        self.in_channels = in_channels
        self.patch_len = patch_len
        self.stride = stride or patch_len
        self.projection = projection
        self.pad_end = pad_end
        if projection == "channel":
            self.patches = SeriesPatchTokenizer(
                embed_dim, in_channels, patch_len, self.stride, pad_end, normalize=normalize, dropout=dropout
            )
        else:
            self.proj = nn.Linear(in_channels * patch_len, embed_dim)
            self.revin = RevIN(in_channels) if normalize == "revin" else None
            self.dropout = nn.Dropout(dropout)

    def forward(self, batch: Any) -> TokenBatch:
        series, present = as_series_batch(batch)
        if series.values.shape[-1] != self.in_channels:
            named = [s for s in (series.sources or []) if s]
            raise ValueError(
                f"IMU windows have {series.values.shape[-1]} channels, this tokenizer was built with "
                f"in_channels={self.in_channels} (6 = acc + gyro, 9 with the magnetometer)"
                + (f"; read from {', '.join(named[:3])}{' ...' if len(named) > 3 else ''}" if named else "")
                + "; read with groups= to match, or build the tokenizer with in_channels="
                + str(series.values.shape[-1])
            )
        if self.projection == "channel":
            out = self.patches(series)
            channel = out.extras[keys.TOKEN_CHANNEL]
            keep = out.valid_mask & present.gather(1, channel)
            return TokenBatch(out.tokens * keep.unsqueeze(-1).to(out.tokens.dtype), keep, out.extras)
        return self._joint(series)

    def _joint(self, series: SeriesBatch) -> TokenBatch:
        check_min_length(series.lengths, self.patch_len, series.sources)
        values = series.values
        extras: dict[str, torch.Tensor] = {keys.LENGTHS: series.lengths}
        if self.revin is not None:
            values, extras[keys.REVIN_LOC], extras[keys.REVIN_SCALE] = self.revin(values, series.mask)
        patches, mask = extract_patches(values, series.lengths, self.patch_len, self.stride, self.pad_end)
        b, n, c, p = patches.shape
        tokens = self.proj(patches.reshape(b, n, c * p))
        tokens = tokens + sinusoidal_positions(n, self.embed_dim, values.device).to(tokens.dtype)
        tokens = self.dropout(tokens) * mask.unsqueeze(-1).to(tokens.dtype)
        return TokenBatch(tokens, mask, extras)
