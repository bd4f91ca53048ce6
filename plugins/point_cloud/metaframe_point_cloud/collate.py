"""Batches of point clouds: padded points and a mask (True = real point)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from metaframe.device import Movable

from metaframe.collate import pad_sequences


@dataclass
class PointCloudBatch(Movable):
    """``points`` ``[B, N, 3 + C]`` (xyz first), ``mask`` ``[B, N]`` bool."""

    points: torch.Tensor
    mask: torch.Tensor

    def __len__(self) -> int:
        return self.points.shape[0]


def collate_point_clouds(samples: Sequence[torch.Tensor]) -> PointCloudBatch:
    """Pad clouds of different sizes; refuse clouds whose feature widths differ."""
    if not samples:
        raise ValueError("cannot collate an empty list of point clouds")
    tensors = [torch.as_tensor(s, dtype=torch.float32) for s in samples]
    widths = {t.shape[-1] for t in tensors if t.dim() == 2}
    if any(t.dim() != 2 for t in tensors) or len(widths) != 1:
        shapes = sorted({tuple(t.shape) for t in tensors})
        raise ValueError(f"point clouds must be [points, 3 + C] with one C in a batch, got shapes {shapes}")
    points, mask = pad_sequences(tensors)
    return PointCloudBatch(points, mask)
