"""The official forecasting head: a trainable Informer-style decoder over the frozen encoder's tokens.

Informer's "start token" decoding: the decoder input is the last ``label_len`` steps of the
(normalised) history followed by ``horizon`` zeros; each step is embedded (``Conv1d`` k=3
circular, no bias, + sinusoidal positions, as the step tokenizer), goes through ``num_layers``
post-norm decoder layers (causal self-attention, cross-attention to the series' encoder tokens,
GELU FFN; ``torch.nn.TransformerDecoderLayer``), a final LayerNorm and ``Linear(d_model, channels)``;
the last ``horizon`` outputs are the forecast. Full attention stands in for Informer's ProbSparse
(the same result at these lengths, without its sampling).

The history comes from ``extras[SERIES_VALUES]`` (the time_series tokenizer writes it in both modes), normalised
with the tokenizer's RevIN statistics when present; the forecast is de-normalised with them, as
the ``forecast`` head does. Output ``[B, horizon, channels]`` in the data's units.
"""

from __future__ import annotations

import torch
from torch import nn

from metaframe import extras as keys
from metaframe.nn import sinusoidal_positions, undo_revin
from metaframe.tokens import EncodedBatch

from .forecast_head import pick_modality


class InformerDecoderHead(nn.Module):
    def __init__(
        self,
        embed_dim: int,
        horizon: int = 96,
        channels: int = 7,
        label_len: int = 48,
        d_model: int = 64,
        num_heads: int = 4,
        num_layers: int = 1,
        ffn_dim: int | None = None,
        dropout: float = 0.0,
        modality: str | None = None,
        denormalize: bool = True,
    ) -> None:
        """``label_len``: history steps the decoder starts from (official 48); ``d_model`` /
        ``num_heads`` / ``num_layers`` / ``ffn_dim`` (default 4·d_model): the decoder's size
        (the encoder tokens are projected from ``embed_dim`` to ``d_model``)."""
        super().__init__()
        if horizon < 1 or channels < 1 or label_len < 0:
            raise ValueError(f"horizon and channels must be >= 1 and label_len >= 0, got {horizon}, {channels}, {label_len}")
        if d_model % num_heads:
            raise ValueError(f"d_model {d_model} is not divisible by num_heads {num_heads}")
        self.horizon = horizon
        self.channels = channels
        self.label_len = label_len
        self.d_model = d_model
        self.modality = modality
        self.denormalize = denormalize
        self.value_embed = nn.Conv1d(channels, d_model, kernel_size=3, padding=1, padding_mode="circular", bias=False)
        self.memory_proj = nn.Linear(embed_dim, d_model)
        layer = nn.TransformerDecoderLayer(
            d_model, num_heads, ffn_dim or 4 * d_model, dropout, activation="gelu", batch_first=True
        )
        self.decoder = nn.TransformerDecoder(layer, num_layers, norm=nn.LayerNorm(d_model))
        self.dropout = nn.Dropout(dropout)
        self.proj = nn.Linear(d_model, channels)

    def _modality(self, encoded: EncodedBatch) -> str:
        return pick_modality(encoded, self.modality, keys.SERIES_VALUES, "InformerDecoderHead")

    def history(self, encoded: EncodedBatch, modality: str) -> torch.Tensor:
        """``[B, label_len, C]``: the last ``label_len`` real steps of each series (normalised when the
        tokenizer was); a series shorter than that is left-padded with zeros."""
        extras = encoded.extras.get(modality, {})
        if keys.SERIES_VALUES not in extras:
            raise ValueError(
                f"the informer_decoder head needs the input series in extras[{keys.SERIES_VALUES!r}]; "
                "the time_series tokenizer writes it (mode 'patch' or 'step'); a tokenizer of another modality does not"
            )
        values = extras[keys.SERIES_VALUES]
        if values.shape[-1] != self.channels:
            raise ValueError(f"the series has {values.shape[-1]} channels but this head forecasts channels={self.channels}")
        if keys.REVIN_LOC in extras:
            values = (values - extras[keys.REVIN_LOC][:, None]) / extras[keys.REVIN_SCALE][:, None]
        b, t, c = values.shape
        lengths = extras.get(keys.LENGTHS, torch.full((b,), t, dtype=torch.long)).to(values.device)
        index = lengths[:, None] - self.label_len + torch.arange(self.label_len, device=values.device)[None]
        picked = values.gather(1, index.clamp(0, max(t - 1, 0))[..., None].expand(-1, -1, c))
        return picked * (index >= 0)[..., None].to(values.dtype)

    def forward(self, encoded: EncodedBatch) -> torch.Tensor:
        modality = self._modality(encoded)
        memory, mask = encoded.body(modality)
        history = self.history(encoded, modality).to(memory.dtype)
        b, steps = history.shape[0], self.label_len + self.horizon
        start = torch.cat([history, history.new_zeros(b, self.horizon, self.channels)], dim=1)  # [B, L + H, C]
        x = self.value_embed(start.transpose(1, 2)).transpose(1, 2)
        x = self.dropout(x + sinusoidal_positions(steps, self.d_model, x.device).to(x.dtype))
        causal = torch.triu(torch.ones(steps, steps, dtype=torch.bool, device=x.device), diagonal=1)  # True = blocked
        y = self.decoder(x, self.memory_proj(memory), tgt_mask=causal, memory_key_padding_mask=~mask)
        out = self.proj(y[:, -self.horizon :])
        extras = encoded.extras.get(modality, {})
        if self.denormalize and keys.REVIN_LOC in extras:
            out = undo_revin(out, extras[keys.REVIN_LOC].to(out.dtype), extras[keys.REVIN_SCALE].to(out.dtype))
        return out
