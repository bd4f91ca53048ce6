"""Collate IMU windows: pad along time to the longest, with a mask; one rate per batch."""

from __future__ import annotations

from typing import Sequence

import torch

from metaframe.collate import pad_sequences

from .sample import IMUBatch, IMUSample


def collate_imu(samples: Sequence[IMUSample]) -> IMUBatch:
    if len(samples) == 0:
        raise ValueError("cannot collate an empty list of IMU windows")
    items = list(samples)
    bad = [type(s).__name__ for s in items if not isinstance(s, IMUSample)]
    if bad:
        raise TypeError(f"collate_imu takes IMUSample objects (from the imu reader), got {bad[0]}")
    widths = {s.values.shape[0] for s in items}
    if len(widths) > 1:
        detail = ", ".join(f"{s.source or f'item {i}'}: {s.values.shape[0]}" for i, s in enumerate(items))
        raise ValueError(f"IMU windows in one batch must have the same channels; got {detail}")
    rates = sorted({s.rate for s in items})
    if len(rates) > 1:
        raise ValueError(f"IMU windows in one batch have different sample rates {rates} Hz; read them with one rate=...")
    values, mask = pad_sequences([s.values.T for s in items])  # pad time, the first dimension
    present = torch.stack([s.present for s in items])  # type: ignore[misc]
    lengths = torch.tensor([s.length for s in items], dtype=torch.long)
    return IMUBatch(values.transpose(1, 2).contiguous(), mask, lengths, present, rates[0], [s.source for s in items])
