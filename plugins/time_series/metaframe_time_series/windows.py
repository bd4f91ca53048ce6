"""Windowing a long series into (input, target) pairs for forecasting.

Window ``i`` starts at ``i * stride``: input = steps ``[s, s + input_length)``, target = the next
``horizon`` steps of the target columns. The official setup (ETTh1) is input 96 steps of 7
variables; Time-Series-Library forecasts 96, 192, 336 or 720 steps ahead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence, overload

import torch

from metaframe_registry import ReadError

from .reader import read_series
from .sample import SeriesSample


class ForecastWindows(Sequence[tuple[SeriesSample, torch.Tensor]]):
    """Lazy ``(SeriesSample [input_length, C], target [horizon, C_target])`` pairs over one series."""

    def __init__(
        self,
        series: SeriesSample,
        input_length: int = 96,
        horizon: int = 96,
        stride: int = 1,
        target_columns: Sequence[str] | None = None,
    ) -> None:
        for name, value in (("input_length", input_length), ("horizon", horizon), ("stride", stride)):
            if int(value) < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        self.series = series
        self.input_length, self.horizon, self.stride = int(input_length), int(horizon), int(stride)
        span = self.input_length + self.horizon
        if series.length < span:
            raise ReadError(
                series.source or "<series>",
                f"series has {series.length} steps, fewer than input_length + horizon = {span}: no window fits",
            )
        self._count = (series.length - span) // self.stride + 1
        if target_columns is None:
            self.target_index = list(range(series.channels))
        else:
            missing = [c for c in target_columns if c not in series.columns]
            if missing:
                raise ReadError(series.source or "<series>", f"target column(s) {missing} not among {list(series.columns)}")
            self.target_index = [series.columns.index(c) for c in target_columns]

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> tuple[SeriesSample, torch.Tensor]: ...
    @overload
    def __getitem__(self, index: slice) -> list[tuple[SeriesSample, torch.Tensor]]: ...

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"window {index} out of range ({len(self)} windows)")
        start = index * self.stride
        end = start + self.input_length
        s = self.series
        sample = SeriesSample(
            values=s.values[start:end],
            time_features=None if s.time_features is None else s.time_features[start:end],
            columns=s.columns,
            source=f"{s.source}[{start}:{end}]" if s.source else None,
        )
        return sample, s.values[end : end + self.horizon, self.target_index]


def forecast_windows(series: SeriesSample, input_length: int = 96, horizon: int = 96, stride: int = 1) -> ForecastWindows:
    return ForecastWindows(series, input_length, horizon, stride)


def dataset(
    path: str | Path,
    input_length: int = 96,
    horizon: int = 96,
    stride: int = 1,
    columns: Sequence[str] | None = None,
    target_columns: Sequence[str] | None = None,
    **reader_options: Any,
) -> ForecastWindows:
    """The manifest's ``dataset``: read one file, return its forecasting windows."""
    series = read_series(path, columns=columns, **reader_options)
    return ForecastWindows(series, input_length, horizon, stride, target_columns)
