"""Batch tokenization: one ``encode_batch`` call per batch, ids padded to the batch's longest.

Texts longer than the context length are truncated (the end token kept, as CLIP does) and
counted: the batch carries ``num_truncated`` and a ``TextTruncationWarning`` says how many,
once per collate (``on_truncate="error"`` refuses instead).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from metaframe.device import Movable

from .reader import TextSample
from .vocab import load_vocab


class TextTruncationWarning(UserWarning):
    """Some texts of a batch were longer than the context length and were cut."""


@dataclass
class TextBatch(Movable):
    """Token ids ``[B, L]`` (long), mask ``[B, L]`` (True = real token) and what made them."""

    input_ids: torch.Tensor
    mask: torch.Tensor
    vocab_size: int
    context_length: int
    num_truncated: int = 0

    def __len__(self) -> int:
        return self.input_ids.shape[0]


def flatten(samples: Sequence[Any]) -> list[TextSample]:
    """Samples, lists of samples (what the reader returns for a multi-text source) or plain strings."""
    out: list[TextSample] = []
    for item in samples:
        if isinstance(item, TextSample):
            out.append(item)
        elif isinstance(item, str):
            out.append(TextSample(item))
        elif isinstance(item, (list, tuple)):
            out.extend(flatten(item))
        else:
            raise TypeError(f"cannot collate a {type(item).__name__} as text; expected TextSample (from the reader) or str")
    return out


def collate_text(samples: Sequence[Any]) -> TextBatch:
    """Tokenize a list of samples into one padded batch of ids."""
    items = flatten(samples)
    if not items:
        raise ValueError("cannot collate an empty list of texts")
    first = items[0]
    key = (first.vocab, first.context_length, first.lowercase)
    for i, s in enumerate(items):
        if (s.vocab, s.context_length, s.lowercase) != key:
            raise ValueError(
                f"text samples 0 and {i} were read with different vocabularies / context lengths "
                f"({key} vs {(s.vocab, s.context_length, s.lowercase)}); read one batch with one setting"
            )
    vocab = load_vocab(*key)
    encodings = vocab.encode_batch([s.text for s in items])
    ids_lists = [e.ids for e in encodings]
    lengths = np.fromiter(map(len, ids_lists), dtype=np.int64, count=len(ids_lists))
    at_limit = np.flatnonzero(lengths == vocab.context_length)  # only these can have been cut
    truncated = [int(i) for i in at_limit if encodings[i].overflowing]
    width = int(lengths.max()) if len(lengths) else 0
    ids = np.full((len(ids_lists), width), vocab.pad_id, dtype=np.int64)
    for row, seq in zip(ids, ids_lists):
        row[: len(seq)] = seq
    mask = np.arange(width)[None, :] < lengths[:, None]
    if truncated:
        where = ", ".join(map(str, truncated[:5])) + (" …" if len(truncated) > 5 else "")
        message = (
            f"{len(truncated)} of {len(items)} texts were longer than the context length "
            f"({vocab.context_length} tokens) and were truncated (batch positions {where})"
        )
        if any(items[i].on_truncate == "error" for i in truncated):
            raise ValueError(message + "; read with on_truncate='warn' or raise context_length")
        warnings.warn(message, TextTruncationWarning, stacklevel=2)
    return TextBatch(torch.from_numpy(ids), torch.from_numpy(mask), vocab.vocab_size, vocab.context_length, len(truncated))
