"""The official per-step tokenizer: one token per time step.

``Conv1d(C, D, kernel=3, padding=1, padding_mode="circular", bias=False)`` + sinusoidal
positions (+ ``Linear(4, D)`` of calendar features), as Informer's DataEmbedding that
Meta-Transformer uses. The circular padding wraps each series around its OWN last real step:
a plain circular conv over a padded batch would read padding at both ends and make a
series' first and last tokens depend on the longest series in its batch. The input series
(data units, padding zeros) is left in ``extras[SERIES_VALUES]``, as the patch tokenizer does.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from metaframe import extras as keys
from metaframe.nn import RevIN, sinusoidal_positions
from metaframe.tokens import TokenBatch

from .collate import as_batch


def circular_windows(values: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """``[B, T, C]`` → ``[B, T, C, 3]``: (previous, current, next) step, wrapping within each series' length."""
    _, t, c = values.shape
    steps = torch.arange(t, device=values.device)[None]
    length = lengths.to(values.device).clamp_min(1)[:, None]
    prev = torch.remainder(steps - 1, length)
    nxt = torch.remainder(steps + 1, length)

    def take(index: torch.Tensor) -> torch.Tensor:
        return values.gather(1, index[..., None].expand(-1, -1, c))

    return torch.stack([take(prev), values, take(nxt)], dim=-1)


class StepTokenizer(nn.Module):
    """``[B, T, C]`` series → ``[B, T, D]`` tokens, mask = the real steps."""

    def __init__(
        self,
        embed_dim: int,
        in_channels: int = 7,
        time_features: bool = False,
        normalize: str = "none",
        affine: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if normalize not in ("none", "revin"):
            raise ValueError(f"normalize={normalize!r}: expected 'none' or 'revin'")
        self.embed_dim = embed_dim
        self.in_channels = in_channels
        self.use_time_features = time_features
        self.conv = nn.Conv1d(in_channels, embed_dim, kernel_size=3, padding=1, padding_mode="circular", bias=False)
        nn.init.kaiming_normal_(self.conv.weight, mode="fan_in", nonlinearity="leaky_relu")
        self.time_proj = nn.Linear(4, embed_dim, bias=False) if time_features else None
        self.revin = RevIN(in_channels, affine=affine) if normalize == "revin" else None
        self.dropout = nn.Dropout(dropout)

    def forward(self, batch: Any) -> TokenBatch:
        batch = as_batch(batch)
        values, mask, lengths = batch.values, batch.mask, batch.lengths
        batch.check_channels(self.in_channels)
        # the input series in data units, for heads that read the history (informer_decoder)
        extras: dict[str, torch.Tensor] = {keys.LENGTHS: lengths,
                                           keys.SERIES_VALUES: values * mask.unsqueeze(-1).to(values.dtype)}
        if self.revin is not None:
            values, extras[keys.REVIN_LOC], extras[keys.REVIN_SCALE] = self.revin(values, mask)
        b, t, c = values.shape
        weight = self.conv.weight.to(values.dtype).reshape(self.embed_dim, c * 3)  # [D, C, 3] → [D, C*3]
        tokens = F.linear(circular_windows(values, lengths).reshape(b, t, c * 3), weight)
        tokens = tokens + sinusoidal_positions(values.shape[1], self.embed_dim, values.device).to(tokens.dtype)
        if self.time_proj is not None:
            if batch.time_features is None:
                raise ValueError(
                    "this tokenizer was built with time_features=True but the batch has no timestamps; "
                    "read files with a timestamp column (reader option timestamp_column=...)"
                )
            tokens = tokens + self.time_proj(batch.time_features.to(tokens.dtype))
        tokens = self.dropout(tokens) * mask.unsqueeze(-1).to(tokens.dtype)
        return TokenBatch(tokens, mask, extras)
