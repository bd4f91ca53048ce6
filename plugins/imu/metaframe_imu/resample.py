"""Irregular timestamps onto a fixed rate: linear interpolation on a uniform grid.

The grid starts at the first timestamp and steps by ``1 / rate`` up to the last one; each
channel is interpolated linearly (numpy ``interp``), so a regular recording at the same rate
comes back unchanged. Without a ``rate`` the median interval of the timestamps sets it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from metaframe_registry import ReadError


def check_rate(rate: Any, source: Any) -> float:
    """A sample rate in Hz, or a ReadError naming the source (0, negative, NaN and inf are refused)."""
    try:
        value = float(rate)
    except (TypeError, ValueError):
        raise ReadError(source, f"sample rate must be a number of Hz, got {rate!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ReadError(source, f"sample rate must be a positive, finite number of Hz, got {rate!r}")
    return value


def check_timestamps(times: np.ndarray, source: Any) -> None:
    if not np.isfinite(times).all():
        row = int(np.flatnonzero(~np.isfinite(times))[0])
        raise ReadError(source, f"timestamp at row {row} is missing or not finite")
    steps = np.diff(times)
    if (steps <= 0).any():
        row = int(np.flatnonzero(steps <= 0)[0]) + 1
        raise ReadError(
            source,
            f"timestamps are not strictly increasing: row {row} has {times[row]:g} s after {times[row - 1]:g} s "
            "(sort the file and drop duplicate stamps)",
        )


def estimate_rate(times: np.ndarray, source: Any) -> float:
    if times.size < 2:
        raise ReadError(source, "one timestamp cannot give a sample rate; pass rate=...")
    return check_rate(1.0 / float(np.median(np.diff(times))), source)


MAX_UPSAMPLE = 1000  # resampled steps per source row beyond which the timestamps or the rate are wrong


def check_span(times: np.ndarray, rate: float, max_seconds: float | None, source: Any) -> None:
    """Refuse a recording whose timestamps span more than ``max_seconds``: one gap of 2e6 s
    would otherwise be resampled onto 10^8 steps, and so is a grid of more than ``MAX_UPSAMPLE``
    steps per row (a huge ``rate``). Checked before the grid is allocated."""
    span = float(times[-1] - times[0])
    if max_seconds is not None and span > max_seconds:
        gaps = np.diff(times)
        row = int(np.argmax(gaps)) + 1 if gaps.size else 0
        raise ReadError(
            source,
            f"timestamps span {span:.6g} s ({int(span * rate) + 1} steps at {rate:g} Hz), longer than "
            f"max_seconds={max_seconds:g}; the largest gap is {float(gaps.max(initial=0)):.6g} s before row {row} "
            "(check timestamp_unit, split the recording, or raise max_seconds)",
        )
    steps = int(span * rate) + 1
    if steps > MAX_UPSAMPLE * times.size:
        raise ReadError(
            source,
            f"resampling {times.size} rows spanning {span:.6g} s onto {rate:g} Hz would make {steps} steps, more than "
            f"{MAX_UPSAMPLE} per row (a gap in the timestamps, a wrong timestamp_unit or rate)",
        )


def resample(times: np.ndarray, values: np.ndarray, rate: float) -> np.ndarray:
    """``values`` ``[T, C]`` at ``times`` (seconds, strictly increasing) → ``[T', C]`` at ``rate`` Hz."""
    count = int(math.floor((times[-1] - times[0]) * rate + 1e-6)) + 1
    grid = times[0] + np.arange(count) / rate
    return np.stack([np.interp(grid, times, values[:, c]) for c in range(values.shape[1])], axis=1)
