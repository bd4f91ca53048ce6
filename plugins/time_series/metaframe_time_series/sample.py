"""Values between the reader, collate and the tokenizers."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class SeriesSample:
    """One series. ``values`` ``[T, C]`` float32 (time-major); ``time_features`` ``[T, 4]``
    (month, day, weekday, hour in [-0.5, 0.5]) when the source had timestamps.

    ``filled`` counts the missing values the reader's ``nan_policy`` filled (0 = none).
    """

    values: torch.Tensor
    time_features: torch.Tensor | None = None
    columns: tuple[str, ...] = ()
    source: str | None = None
    filled: int = 0

    def __post_init__(self) -> None:
        if self.values.dim() != 2:
            raise ValueError(f"SeriesSample.values must be [steps, channels], got shape {tuple(self.values.shape)}")
        if self.time_features is not None and self.time_features.shape != (self.values.shape[0], 4):
            raise ValueError(
                f"SeriesSample.time_features must be [{self.values.shape[0]}, 4], got {tuple(self.time_features.shape)}"
            )

    @property
    def length(self) -> int:
        return self.values.shape[0]

    @property
    def channels(self) -> int:
        return self.values.shape[1]


@dataclass
class SeriesBatch:
    """Series padded to the longest: ``values`` ``[B, T, C]``, ``mask`` ``[B, T]`` (True = real step),
    ``lengths`` ``[B]``, ``time_features`` ``[B, T, 4]`` or None, ``sources`` for error messages."""

    values: torch.Tensor
    mask: torch.Tensor
    lengths: torch.Tensor
    time_features: torch.Tensor | None = None
    sources: list[str | None] = field(default_factory=list)

    def __len__(self) -> int:
        return self.values.shape[0]

    def to(self, device: torch.device | str) -> "SeriesBatch":
        tf = None if self.time_features is None else self.time_features.to(device)
        return SeriesBatch(self.values.to(device), self.mask.to(device), self.lengths.to(device), tf, list(self.sources))

    def source(self, index: int) -> str:
        """A name for sample ``index`` in error messages: its file when known."""
        if index < len(self.sources) and self.sources[index]:
            return str(self.sources[index])
        return f"<batch item {index}>"
