"""The forecasting head: ``[B, horizon, channels]`` in the data's units.

``pooling`` as the core's heads (``cls``, ``mean``, ``max``, ``cls+max+mean``) then one
``Linear`` to ``horizon * channels``; or ``"channel"``: PatchTST-like and channel-independent,
each channel's own tokens mean-pooled and mapped by ONE shared ``Linear(D, horizon)`` (needs a
tokenizer that writes ``metaframe.extras.TOKEN_CHANNEL``, i.e. the patch tokenizer). When the
tokenizer normalised its input (RevIN), the forecast is de-normalised with the statistics it
left in ``extras`` (``REVIN_LOC`` / ``REVIN_SCALE``; ``denormalize=False`` keeps the normalised scale, e.g. for a loss on normalised targets).
"""

from __future__ import annotations

import torch
from torch import nn

from metaframe import extras as keys
from metaframe.heads import Pool, masked_mean
from metaframe.nn import undo_revin
from metaframe.tokens import EncodedBatch


class ForecastHead(nn.Module):
    def __init__(
        self,
        embed_dim: int,
        horizon: int = 96,
        channels: int = 7,
        pooling: str = "mean",
        modality: str | None = None,
        denormalize: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if horizon < 1 or channels < 1:
            raise ValueError(f"horizon and channels must be >= 1, got horizon={horizon}, channels={channels}")
        self.horizon = horizon
        self.channels = channels
        self.modality = modality
        self.denormalize = denormalize
        self.pooling = pooling
        self.dropout = nn.Dropout(dropout)
        if pooling == "channel":
            self.pool = None
            self.linear = nn.Linear(embed_dim, horizon)
        else:
            self.pool = Pool(pooling, modality)
            self.linear = nn.Linear(self.pool.out_features(embed_dim), horizon * channels)

    def _modality(self, encoded: EncodedBatch) -> str:
        return pick_modality(encoded, self.modality, keys.REVIN_LOC, "ForecastHead")

    def _per_channel(self, encoded: EncodedBatch, modality: str) -> torch.Tensor:
        extras = encoded.extras.get(modality, {})
        if keys.TOKEN_CHANNEL not in extras:
            raise ValueError(
                "pooling='channel' needs a tokenizer that marks each token's channel (time_series mode='patch'); "
                "use pooling='mean' or 'cls' with mode='step'"
            )
        tokens, mask = encoded.body(modality)
        channel = extras[keys.TOKEN_CHANNEL]
        pooled = [masked_mean(tokens, mask & (channel == c)) for c in range(self.channels)]
        return self.linear(self.dropout(torch.stack(pooled, dim=1))).transpose(1, 2)  # [B, H, C]

    def forward(self, encoded: EncodedBatch) -> torch.Tensor:
        modality = self._modality(encoded)
        if self.pool is None:
            out = self._per_channel(encoded, modality)
        else:
            out = self.linear(self.dropout(self.pool(encoded))).reshape(-1, self.horizon, self.channels)
        extras = encoded.extras.get(modality, {})
        if self.denormalize and keys.REVIN_LOC in extras:
            loc, scale = extras[keys.REVIN_LOC], extras[keys.REVIN_SCALE]
            if loc.shape[-1] != self.channels:
                raise ValueError(
                    f"the tokenizer normalised {loc.shape[-1]} channels but this head forecasts channels={self.channels}"
                )
            out = undo_revin(out, loc.to(out.dtype), scale.to(out.dtype))
        return out


def pick_modality(encoded: EncodedBatch, modality: str | None, key: str, head: str) -> str:
    """The modality a forecasting head reads: ``modality``, else the only one whose extras hold
    ``key``, else the only one in the batch."""
    if modality is not None:
        return modality
    with_key = [m for m, extras in encoded.extras.items() if key in extras]
    candidates = with_key or list(encoded.segments)
    if len(candidates) != 1:
        raise ValueError(
            f"{head} cannot tell which modality to forecast among {', '.join(encoded.segments)}; build it with modality=..."
        )
    return candidates[0]
