"""Missing values in a ``[T, C]`` array: refuse them, or fill them by a policy the user chose, and count them.

Infinite values are always an error (no fill can say what they should have been). Used by the
time_series and imu readers (their ``nan_policy`` option).
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Sequence

import numpy as np

from metaframe_registry import ReadError

from .guards import within_or_raise

NAN_POLICIES = ("error", "ffill", "zero", "interpolate")


class FilledValuesWarning(UserWarning):
    """Missing values were filled by the reader's ``nan_policy`` (the count is in the message)."""


def _name(names: Sequence[str] | None, index: int) -> str:
    return repr(names[index]) if names and index < len(names) else str(index)


def check_finite(values: np.ndarray, source: Any, names: Sequence[str] | None = None) -> None:
    """Refuse +/-inf, naming the first column and step that holds one (NaN is the fill rule's):
    ``within_or_raise`` with no magnitude limit, the one finite-range check."""
    within_or_raise(values, source, math.inf, names)


def fill_missing(
    values: np.ndarray, policy: str, source: Any, names: Sequence[str] | None = None
) -> tuple[np.ndarray, int]:
    """``values`` ``[T, C]`` with NaNs handled by ``policy``; returns (values, number filled).

    ``error`` refuses any NaN, naming the first column and step; ``ffill`` carries the last
    valid value forward (leading gaps take the first valid value); ``interpolate`` is linear in
    the step index (ends held constant); ``zero`` writes 0. A fill warns (FilledValuesWarning)
    with the count; the input array is never changed.
    """
    if policy not in NAN_POLICIES:
        raise ValueError(f"nan_policy={policy!r}: expected one of {', '.join(NAN_POLICIES)}")
    check_finite(values, source, names)
    nan = np.isnan(values)
    count = int(nan.sum())
    if count == 0:
        return values, 0
    step, channel = map(int, np.argwhere(nan)[0])
    if policy == "error":
        raise ReadError(
            source,
            f"{count} missing (NaN) value(s); first in column {_name(names, channel)} at step {step}. "
            "Choose nan_policy='ffill', 'zero' or 'interpolate' to fill them",
        )
    out = values.copy()
    if policy == "zero":
        out[nan] = 0.0
    else:
        empty = np.flatnonzero(nan.all(axis=0))
        if empty.size:
            raise ReadError(
                source, f"column {_name(names, int(empty[0]))} has no valid value at all; nan_policy={policy!r} cannot fill it"
            )
        steps = np.arange(values.shape[0])
        for c in np.flatnonzero(nan.any(axis=0)):
            col, gaps = out[:, c], nan[:, c]
            if policy == "interpolate":
                col[gaps] = np.interp(steps[gaps], steps[~gaps], col[~gaps])
            else:  # ffill: index of the last valid value at or before each step
                last = np.where(~gaps, steps, 0)
                np.maximum.accumulate(last, out=last)
                first_valid = int(np.argmax(~gaps))
                last[:first_valid] = first_valid
                col[:] = col[last]
    warnings.warn(f"{source}: filled {count} missing value(s) with nan_policy={policy!r}", FilledValuesWarning, stacklevel=3)
    return out, count
