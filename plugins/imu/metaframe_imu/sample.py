"""Values between the IMU reader, collate and tokenizer."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from metaframe.device import Movable


@dataclass
class IMUSample:
    """One window or recording: ``values`` ``[C, T]`` float32 in SI units at ``rate`` Hz.

    ``present`` ``[C]`` is False for the channels of an optional group the source lacked
    (their values are 0); ``filled`` counts missing values filled by ``nan_policy``.
    """

    values: torch.Tensor
    rate: float
    channels: tuple[str, ...] = ()
    present: torch.Tensor | None = None
    groups: tuple[str, ...] = ()  # the sensor group of each channel: "acc", "gyro" or "mag"
    source: str | None = None
    filled: int = 0

    def __post_init__(self) -> None:
        if self.values.dim() != 2:
            raise ValueError(f"IMUSample.values must be [channels, steps], got shape {tuple(self.values.shape)}")
        if self.present is None:
            self.present = torch.ones(self.values.shape[0], dtype=torch.bool)

    @property
    def length(self) -> int:
        return self.values.shape[1]

    @property
    def duration(self) -> float:
        return self.length / self.rate


@dataclass
class IMUBatch(Movable):
    """Windows padded to the longest: ``values`` ``[B, C, T]``, ``mask`` ``[B, T]``, ``lengths`` ``[B]``,
    ``present`` ``[B, C]``, the common ``rate`` and ``sources`` for error messages."""

    values: torch.Tensor
    mask: torch.Tensor
    lengths: torch.Tensor
    present: torch.Tensor
    rate: float
    sources: list[str | None] = field(default_factory=list)

    def __len__(self) -> int:
        return self.values.shape[0]
