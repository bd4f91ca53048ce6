"""Collate series of any lengths: pad to the longest, with a mask (True = real step)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from metaframe.collate import pad_sequences

from .sample import SeriesBatch, SeriesSample


def as_sample(item: Any) -> SeriesSample:
    """A SeriesSample as is; a bare ``[T]`` / ``[T, C]`` array or tensor wrapped as one."""
    if isinstance(item, SeriesSample):
        return item
    values = torch.as_tensor(np.asarray(item) if not isinstance(item, torch.Tensor) else item, dtype=torch.float32)
    return SeriesSample(values[:, None] if values.dim() == 1 else values)


def collate_series(samples: Sequence[Any]) -> SeriesBatch:
    if len(samples) == 0:
        raise ValueError("cannot collate an empty list of series")
    items = [as_sample(s) for s in samples]
    channels = {s.channels for s in items}
    if len(channels) > 1:
        detail = ", ".join(f"{s.source or f'item {i}'}: {s.channels}" for i, s in enumerate(items))
        raise ValueError(f"series in one batch must have the same number of channels; got {detail}")
    with_time = [s.time_features is not None for s in items]
    if any(with_time) and not all(with_time):
        missing = [s.source or f"item {i}" for i, s in enumerate(items) if s.time_features is None]
        raise ValueError(f"some series have timestamps and some do not (without: {', '.join(missing)}); read all alike")
    values, mask = pad_sequences([s.values for s in items])
    features = None
    if all(with_time):
        features, _ = pad_sequences([s.time_features for s in items])  # type: ignore[misc]
    lengths = torch.tensor([s.length for s in items], dtype=torch.long)
    return SeriesBatch(values, mask, lengths, features, [s.source for s in items])


def as_batch(batch: Any) -> SeriesBatch:
    """What tokenizers accept: a SeriesBatch, or a ``[B, T, C]`` tensor whose steps are all real."""
    if isinstance(batch, SeriesBatch):
        return batch
    if isinstance(batch, torch.Tensor) and batch.dim() == 3:
        return SeriesBatch.full(batch.float())
    shape = tuple(batch.shape) if hasattr(batch, "shape") else type(batch).__name__
    raise TypeError(f"expected a SeriesBatch (from collate_series) or a [batch, steps, channels] tensor, got {shape}")
