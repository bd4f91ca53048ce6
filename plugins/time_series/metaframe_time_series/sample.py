"""Values between the reader, collate and the tokenizers.

The batch type is the core's ``metaframe.series.SeriesBatch`` (re-exported here): the shared
series blocks (``metaframe.nn.SeriesPatchTokenizer``) read it, and other plugins build it too.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from metaframe.series import SeriesBatch

__all__ = ["SeriesBatch", "SeriesSample"]


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
