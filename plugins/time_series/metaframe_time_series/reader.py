"""Reading one series from CSV, Parquet, .npy, a DataFrame, an array or a tensor.

Tables: ``columns`` picks the value columns (default: every column but the timestamp);
``timestamp_column`` names the time column ("auto": the first column called date, datetime,
timestamp or time, if any; None: no timestamps) whose stamps become time features.
Arrays are time-major ``[T]`` or ``[T, C]`` (``channels_first=True`` for ``[C, T]``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch

from metaframe.ops import TABLE_EXTENSIONS, datetime_column, fill_missing, load_npy, load_table, numeric_column, require_columns
from metaframe.ops.guards import SQUARE_SAFE, within_or_raise
from metaframe_registry import ReadError

from .sample import SeriesSample
from .timefeatures import time_features

AUTO_TIMESTAMP_NAMES = ("date", "datetime", "timestamp", "time")


def _timestamp_column(table: pd.DataFrame, requested: str | None, source: Any) -> str | None:
    if requested is None:
        return None
    if requested == "auto":
        lowered = {str(c).lower(): c for c in table.columns}
        return next((lowered[n] for n in AUTO_TIMESTAMP_NAMES if n in lowered), None)
    require_columns(table, [requested], source, "timestamp column")
    return requested


def _from_table(
    table: pd.DataFrame, source: Any, columns: Sequence[str] | None, timestamp_column: str | None
) -> tuple[np.ndarray, np.ndarray | None, tuple[str, ...]]:
    ts_col = _timestamp_column(table, timestamp_column, source)
    if columns is None:
        names = [str(c) for c in table.columns if c != ts_col]
        if not names:
            raise ReadError(source, "has no value columns besides the timestamp")
    else:
        names = [columns] if isinstance(columns, str) else list(columns)
        require_columns(table, names, source)
    values = np.stack([numeric_column(table, c, source) for c in names], axis=1)
    features = time_features(datetime_column(table, ts_col, source)) if ts_col is not None else None
    return values, features, tuple(names)


def _from_array(array: np.ndarray, source: Any, channels_first: bool) -> np.ndarray:
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise ReadError(source, f"holds {array.dtype} data, expected numbers")
    if array.ndim == 1:
        return array[:, None].astype(np.float64)
    if array.ndim != 2:
        raise ReadError(source, f"expected a series [steps] or [steps, channels], got {array.ndim} dimensions {array.shape}")
    return (array.T if channels_first else array).astype(np.float64)


def read_series(
    source: Any,
    columns: Sequence[str] | str | None = None,
    timestamp_column: str | None = "auto",
    nan_policy: str = "error",
    min_length: int = 1,
    channels_first: bool = False,
) -> SeriesSample:
    """One series as a :class:`SeriesSample` (values ``[T, C]`` float32)."""
    features: np.ndarray | None = None
    names: tuple[str, ...] = ()
    name: str | None = None
    if isinstance(source, (str, os.PathLike)):
        name = os.fspath(source)
        ext = Path(source).suffix.lower()
        if ext == ".npy":
            values = _from_array(load_npy(source), source, channels_first)
        elif ext in TABLE_EXTENSIONS:
            values, features, names = _from_table(load_table(source), source, columns, timestamp_column)
        else:
            raise ReadError(source, f"unsupported extension {ext!r}; expected .csv, .parquet, .pq or .npy")
    elif isinstance(source, pd.DataFrame):
        if len(source) == 0:
            raise ReadError(source, "DataFrame has no rows")
        values, features, names = _from_table(source, source, columns, timestamp_column)
    elif isinstance(source, torch.Tensor):
        values = _from_array(source.detach().cpu().numpy(), source, channels_first)
    elif isinstance(source, np.ndarray) or hasattr(source, "__array__"):
        values = _from_array(np.asarray(source), source, channels_first)
    else:
        raise ReadError(source, "expected a .csv / .parquet / .npy path, a DataFrame, an array or a tensor")
    if values.shape[0] == 0 or values.shape[1] == 0:
        raise ReadError(source, f"series is empty (shape {values.shape})")
    if values.shape[0] < min_length:
        raise ReadError(source, f"series has {values.shape[0]} steps, fewer than min_length={min_length}")
    values, filled = fill_missing(values, nan_policy, source, names or None)
    within_or_raise(  # RevIN squares values in float32: past this they give inf / NaN (or all-zero) tokens
        values, source, SQUARE_SAFE, names or None, why="its square overflows float32 in RevIN scaling; rescale the series"
    )
    return SeriesSample(
        values=torch.from_numpy(values.astype(np.float32)),
        time_features=None if features is None else torch.from_numpy(features),
        columns=names,
        source=name,
        filled=filled,
    )
