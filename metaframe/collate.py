"""The default collate: stack equally-shaped tensors, refuse anything else clearly."""

from __future__ import annotations

from typing import Any, Iterable, Iterator, Sequence

import numpy as np
import torch


def default_collate(samples: Sequence[Any]) -> torch.Tensor:
    """Stack samples of one shape into a batch; mixed shapes are an error, never padded silently."""
    if len(samples) == 0:
        raise ValueError("cannot collate an empty list of samples")
    tensors = [torch.as_tensor(np.asarray(s)) if not isinstance(s, torch.Tensor) else s for s in samples]
    shapes = {tuple(t.shape) for t in tensors}
    if len(shapes) > 1:
        raise ValueError(
            f"samples have different shapes {sorted(shapes)}; this modality's collate needs equal shapes "
            "(resize them with the reader's options, or use a modality whose collate pads)"
        )
    return torch.stack(tensors)


def pad_sequences(
    sequences: Sequence[torch.Tensor], pad_value: float = 0.0, length: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad ``[L_i, ...]`` tensors to ``[B, L, ...]``; returns (padded, mask) with True = real."""
    if len(sequences) == 0:
        raise ValueError("cannot pad an empty list of sequences")
    max_len = length if length is not None else max(s.shape[0] for s in sequences)
    first = sequences[0]
    out = first.new_full((len(sequences), max_len, *first.shape[1:]), pad_value)
    mask = torch.zeros(len(sequences), max_len, dtype=torch.bool)
    for i, seq in enumerate(sequences):
        n = min(seq.shape[0], max_len)
        out[i, :n] = seq[:n]
        mask[i, :n] = True
    return out, mask


def iter_sample_tensors(samples: Iterable[Any], sample_dims: int, what: str = "samples") -> Iterator[torch.Tensor]:
    """Yield single-sample tensors of ``sample_dims`` dimensions from what ``fit`` is given.

    Accepts samples, batches (one more leading dimension) and ``(sample, target)`` pairs, so a
    FittableTokenizer can be fitted on a dataset, a DataLoader or a list alike.
    """
    for item in samples:
        if isinstance(item, (tuple, list)):
            item = item[0]
        t = torch.as_tensor(item)
        if t.dim() == sample_dims + 1:
            yield from t
        elif t.dim() == sample_dims:
            yield t
        else:
            raise ValueError(
                f"fit expects {what} of {sample_dims} dimensions or batches of them, got shape {tuple(t.shape)}"
            )
