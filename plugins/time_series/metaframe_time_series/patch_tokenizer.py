"""Patch tokens (PatchTST): the core's channel-independent ``metaframe.nn.SeriesPatchTokenizer``
(shared patches, sinusoidal patch positions, channel embedding, RevIN), taking what
time_series' collate gives (a ``SeriesBatch`` or a ``[B, T, C]`` tensor). It also leaves the input
series in ``extras[SERIES_VALUES]`` (data units) for heads that read the history (``informer_decoder``)."""

from __future__ import annotations

from typing import Any

from metaframe import extras as keys
from metaframe.nn import SeriesPatchTokenizer
from metaframe.tokens import TokenBatch

from .collate import as_batch


class PatchTokenizer(SeriesPatchTokenizer):
    """``[B, T, C]`` series → ``[B, C * n_patches, D]`` tokens (mask marks real patches)."""

    short_hint = "use longer series, a smaller patch_len, or mode='step'"

    def forward(self, batch: Any) -> TokenBatch:
        batch = as_batch(batch)
        out = super().forward(batch)
        out.extras[keys.SERIES_VALUES] = batch.values * batch.mask.unsqueeze(-1).to(batch.values.dtype)
        return out
