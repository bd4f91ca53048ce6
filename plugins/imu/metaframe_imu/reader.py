"""Reading IMU recordings: CSV / Parquet tables with named sensor columns and a timestamp,
``.npy`` windows ``[C, T]``, DataFrames, arrays and tensors.

Steps, in order: pick the sensor columns (a missing required group is an error that names
its columns; a missing group listed in ``optional_groups`` becomes zeros with
``present=False``), handle missing values (``nan_policy``), resample irregular timestamps onto
``rate`` Hz (linear interpolation; no anti-alias filter, so low-pass first when downsampling
by a large factor), convert to SI units, remove gravity if asked. See ``options.py``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from metaframe.ops import TABLE_EXTENSIONS, datetime_column, fill_missing, load_npy, load_table, numeric_column
from metaframe.ops.guards import SQUARE_SAFE, within_or_raise
from metaframe_registry import ReadError

from .options import TIMESTAMP_UNITS, IMUReadOptions
from .resample import check_rate, check_span, check_timestamps, estimate_rate, resample
from .sample import IMUSample
from .units import ACC_UNITS, GYRO_UNITS, remove_gravity


@dataclass
class Recording:
    """A read recording plus what the windowing dataset needs to map labels onto it."""

    sample: IMUSample
    table: pd.DataFrame | None  # the source table (labels live here), None for arrays
    times: np.ndarray | None  # seconds of the table's rows from the first one; None when rows are regular


def _timestamps(table: pd.DataFrame, opts: IMUReadOptions, source: Any) -> np.ndarray | None:
    column = opts.timestamp_column
    if column is None:
        return None
    if column not in table.columns:
        raise ReadError(
            source,
            f"missing timestamp column {column!r}; the file has: {', '.join(map(repr, map(str, table.columns)))}. "
            "Name it with timestamp_column=..., or pass timestamp_column=None and rate=... for regular rows",
        )
    if pd.api.types.is_numeric_dtype(table[column]):
        times = numeric_column(table, column, source) * TIMESTAMP_UNITS[opts.timestamp_unit]
    else:
        stamps = datetime_column(table, column, source)
        times = ((stamps - stamps[0]) / pd.Timedelta(seconds=1)).to_numpy(dtype=np.float64)
    check_timestamps(times, source)
    return times - times[0]


def _select_groups(table: pd.DataFrame, opts: IMUReadOptions, source: Any) -> tuple[list[str], list[str]]:
    """Groups present in the table and groups (optional) absent from it; errors for anything else."""
    present, absent, problems = [], [], []
    for group, columns in opts.layout():
        missing = [c for c in columns if c not in table.columns]
        if not missing:
            present.append(group)
        elif len(missing) == len(columns) and group in opts.optional_groups:
            absent.append(group)
        else:
            problems.append(f"{group} column(s) {', '.join(map(repr, missing))}")
    if problems:
        hint = (
            "name the columns with acc_columns= / gyro_columns= / mag_columns=, "
            "or list a group that may be absent in optional_groups (e.g. optional_groups=['mag'])"
        )
        raise ReadError(
            source,
            f"missing {'; '.join(problems)}; the file has: {', '.join(map(repr, map(str, table.columns)))}. {hint}",
        )
    return present, absent


def _assemble(
    raw: dict[str, np.ndarray], absent: list[str], opts: IMUReadOptions, rate: float, source: Any, filled: int
) -> IMUSample:
    """Group arrays ``[T, k]`` (already resampled) → an IMUSample ``[C, T]`` in SI units."""
    steps = next(iter(raw.values())).shape[0]
    blocks, names, groups, present = [], [], [], []
    for group, columns in opts.layout():
        if group in absent:
            block = np.zeros((len(columns), steps))
        else:
            block = raw[group].T.copy()
            if group == "acc":
                block = remove_gravity(block * ACC_UNITS[opts.acc_unit], opts.gravity, rate, opts.gravity_cutoff_hz, source)
            elif group == "gyro":
                block = block * GYRO_UNITS[opts.gyro_unit]
        blocks.append(block)
        names += columns
        groups += [group] * len(columns)
        present += [group not in absent] * len(columns)
    if opts.gravity != "keep" and "acc" not in raw:
        raise ReadError(source, f"gravity={opts.gravity!r} needs accelerometer data, but the 'acc' group is not read")
    values = np.concatenate(blocks, axis=0)
    within_or_raise(  # float32 output, and RevIN (normalize='revin') squares it in float32
        values.T, source, SQUARE_SAFE, names, why="its square overflows float32 in RevIN scaling; check the units"
    )
    values = values.astype(np.float32)
    return IMUSample(
        values=torch.from_numpy(values),
        rate=rate,
        channels=tuple(names),
        present=torch.tensor(present, dtype=torch.bool),
        groups=tuple(groups),
        source=os.fspath(source) if isinstance(source, (str, os.PathLike)) else None,
        filled=filled,
    )


def _split(values: np.ndarray, groups: list[str], opts: IMUReadOptions) -> dict[str, np.ndarray]:
    out, start = {}, 0
    for group in groups:
        width = len(opts.columns(group))
        out[group] = values[:, start : start + width]
        start += width
    return out


def _from_table(table: pd.DataFrame, opts: IMUReadOptions, source: Any) -> Recording:
    groups, absent = _select_groups(table, opts, source)
    names = [c for g in groups for c in opts.columns(g)]
    values = np.stack([numeric_column(table, c, source) for c in names], axis=1)
    values, filled = fill_missing(values, opts.nan_policy, source, names)
    times = _timestamps(table, opts, source)
    if times is None:
        if opts.rate is None:
            raise ReadError(source, "without a timestamp column the rows need a rate: pass rate=... (Hz)")
        rate = check_rate(opts.rate, source)
    else:
        rate = check_rate(opts.rate, source) if opts.rate is not None else estimate_rate(times, source)
        check_span(times, rate, opts.max_seconds, source)
        values = resample(times, values, rate)
    return Recording(_assemble(_split(values, groups, opts), absent, opts, rate, source, filled), table, times)


def _from_array(array: np.ndarray, opts: IMUReadOptions, source: Any) -> Recording:
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise ReadError(source, f"holds {array.dtype} data, expected numbers")
    if array.ndim != 2:
        raise ReadError(source, f"expected one window [channels, steps], got {array.ndim} dimensions {array.shape}")
    if opts.rate is None:
        raise ReadError(source, "an array has no timestamps: pass rate=... (Hz)")
    rate = check_rate(opts.rate, source)
    values = (array if opts.channels_first else array.T).T.astype(np.float64)  # [T, C]
    required = [g for g in opts.groups if g not in opts.optional_groups]
    width = {tuple(gs): sum(len(opts.columns(g)) for g in gs) for gs in (opts.groups, required)}
    if values.shape[1] == width[tuple(opts.groups)]:
        groups, absent = list(opts.groups), []
    elif opts.optional_groups and values.shape[1] == width[tuple(required)]:
        groups, absent = required, list(opts.optional_groups)
    else:
        layout = ", ".join(f"{g} ({len(opts.columns(g))})" for g in opts.groups)
        raise ReadError(
            source,
            f"has {values.shape[1]} channels but groups {layout} need {width[tuple(opts.groups)]}"
            + (f" (or {width[tuple(required)]} without the optional ones)" if opts.optional_groups else "")
            + ("; arrays are [channels, steps] (channels_first=False for [steps, channels])" if opts.channels_first else ""),
        )
    names = [c for g in groups for c in opts.columns(g)]
    values, filled = fill_missing(values, opts.nan_policy, source, names)
    return Recording(_assemble(_split(values, groups, opts), absent, opts, rate, source, filled), None, None)


def read_recording(source: Any, **options: Any) -> Recording:
    opts = IMUReadOptions(**options)
    if isinstance(source, (str, os.PathLike)):
        ext = Path(source).suffix.lower()
        if ext == ".npy":
            return _from_array(load_npy(source), opts, source)
        if ext in TABLE_EXTENSIONS:
            return _from_table(load_table(source), opts, source)
        raise ReadError(source, f"unsupported extension {ext!r}; expected .csv, .parquet, .pq or .npy")
    if isinstance(source, pd.DataFrame):
        if len(source) == 0:
            raise ReadError(source, "DataFrame has no rows")
        return _from_table(source, opts, source)
    if isinstance(source, torch.Tensor):
        return _from_array(source.detach().cpu().numpy(), opts, source)
    if isinstance(source, np.ndarray) or hasattr(source, "__array__"):
        return _from_array(np.asarray(source), opts, source)
    raise ReadError(source, "expected a .csv / .parquet / .npy path, a DataFrame, an array or a tensor")


def read_imu(source: Any, **options: Any) -> IMUSample:
    """One recording or window as an :class:`IMUSample` (``values`` ``[C, T]``, SI units, ``rate`` Hz)."""
    sample = read_recording(source, **options).sample
    if sample.length == 0:
        raise ReadError(source, "recording has no steps")
    return sample
