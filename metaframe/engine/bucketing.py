"""Batching by length: samples of similar length share a batch, so a batch carries little padding.

A sample's length comes from a cheap probe of its *source*, before anything is read: a file's
size in bytes (a WebDataset member's size in its tar), a string's or a sequence's ``len``, an
array's number of values. Reading every
sample once just to measure it would double the reading work (the expensive part of encoding
text, audio or video); a file's size orders samples of one modality and format by length well
enough for grouping, which is all a bucket needs. Batches stay exact: lengths only decide which
samples go together, never how a sample is processed, and the padding mask keeps each sample's
result independent of its batch.

Training keeps its randomness: the epoch's seeded permutation is cut into pools of
``pool_batches`` batches, each pool sorted by length and cut into batches, and the batches
shuffled (seeded) — every sample exactly once per epoch, the same global batches on every rank.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from .loader import EpochBatchSampler

POOL_BATCHES = 50
"""Batches per sorted pool in training: larger pools pad less but mix lengths less across batches."""


def probe_length(source: Any) -> int:
    """A cheap length of one source, comparable between sources of one modality (0 when unknown)."""
    if isinstance(source, os.PathLike):
        try:
            return os.stat(source).st_size
        except OSError:
            return 0  # unreadable: the reader reports it; its position in the order does not matter
    if isinstance(source, (str, bytes)):
        if isinstance(source, str) and len(source) < 4096 and "\n" not in source and os.path.isfile(source):
            return os.stat(source).st_size
        return len(source)
    shape = getattr(source, "shape", None)
    if shape is not None and len(shape):
        return int(shape[0]) * int(np.prod(shape[1:], dtype=np.int64))
    if isinstance(source, dict):
        return sum(probe_length(v) for v in source.values())
    if isinstance(source, (list, tuple)):
        return sum(probe_length(v) for v in source)
    # already-read samples (SeriesSample, TextSample, ...), WebDataset members (their size in the tar)
    # and manifest cells (their value: a file, a text)
    for attr in ("length", "size", "text", "values", "members", "source"):
        value = getattr(source, attr, None)
        if isinstance(value, int):
            return value
        if value is not None:
            return probe_length(value)
    return 0


def probe_lengths(sources: Sequence[Any]) -> np.ndarray:
    return np.fromiter((probe_length(s) for s in sources), dtype=np.int64, count=len(sources))


def sorted_batches(indices: Sequence[int], lengths: np.ndarray, batch_size: int) -> list[list[int]]:
    """``indices`` sorted by length (stable: ties keep their order) and cut into batches."""
    idx = np.asarray(indices, dtype=np.int64)
    order = idx[np.argsort(lengths[idx], kind="stable")]
    return [order[i : i + batch_size].tolist() for i in range(0, len(order), batch_size)]


def padding_fraction(lengths: np.ndarray, batches: Sequence[Sequence[int]]) -> float:
    """The share of a padded batch that is padding, over all batches (lengths in any unit)."""
    padded = sum(len(b) * int(lengths[list(b)].max()) for b in batches if len(b))
    real = sum(int(lengths[list(b)].sum()) for b in batches)
    return 1.0 - real / padded if padded else 0.0


class LengthBucketSampler(EpochBatchSampler):
    """``EpochBatchSampler`` whose global batches group samples of similar length (``data.bucket_by_length``).

    Each global batch is split between the ranks as before (``batch[rank::world]``), so every
    rank gets the same number of batches and, the batch being sorted, similar lengths.
    """

    def __init__(
        self,
        lengths: Sequence[int] | np.ndarray,
        batch_size: int,
        seed: int,
        rank: int = 0,
        world: int = 1,
        shuffle: bool = True,
        pool_batches: int = POOL_BATCHES,
    ) -> None:
        super().__init__(len(lengths), batch_size, seed, rank, world, shuffle)
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.pool_batches = pool_batches

    def global_batches(self) -> list[np.ndarray]:
        rng = np.random.default_rng(self.seed + self.epoch)
        order = rng.permutation(self.size) if self.shuffle else np.arange(self.size)
        pool = self.batch_size * self.pool_batches
        batches: list[np.ndarray] = []
        for start in range(0, self.size, pool):
            chunk = order[start : start + pool]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            batches += [chunk[i : i + self.batch_size] for i in range(0, len(chunk), self.batch_size)]
        if self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return [b for b in batches if len(b) >= self.world]
