"""Units and gravity.

The reader returns SI units: accelerometer in m/s² (``acc_unit="g"`` multiplies by standard
gravity 9.80665), gyroscope in rad/s (``gyro_unit="deg/s"`` multiplies by π/180), magnetometer
as read. Gravity stays in the accelerometer signal unless asked: ``gravity="mean"`` subtracts
each accelerometer axis' mean (the static gravity of a window held still in orientation),
``gravity="highpass"`` applies a zero-phase 2nd-order Butterworth high-pass at
``gravity_cutoff_hz`` (0.3 Hz by default, the usual body / gravity split) along time.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from metaframe_registry import ReadError

STANDARD_GRAVITY = 9.80665
ACC_UNITS = {"m/s2": 1.0, "m/s^2": 1.0, "g": STANDARD_GRAVITY}
GYRO_UNITS = {"rad/s": 1.0, "deg/s": math.pi / 180.0}
GRAVITY_MODES = ("keep", "mean", "highpass")


def unit_factor(unit: str, table: dict[str, float], option: str) -> float:
    if unit not in table:
        raise ValueError(f"{option}={unit!r}: expected one of {', '.join(table)}")
    return table[unit]


def remove_gravity(acc: np.ndarray, mode: str, rate: float, cutoff_hz: float, source: Any) -> np.ndarray:
    """``acc`` ``[3, T]`` (or any ``[k, T]``) without its gravity component, by ``mode``."""
    if mode not in GRAVITY_MODES:
        raise ValueError(f"gravity={mode!r}: expected one of {', '.join(GRAVITY_MODES)}")
    if mode == "keep" or acc.size == 0:
        return acc
    if mode == "mean":
        return acc - acc.mean(axis=1, keepdims=True)
    from scipy.signal import butter, sosfiltfilt

    nyquist = rate / 2.0
    if not 0.0 < cutoff_hz < nyquist:
        raise ReadError(source, f"gravity_cutoff_hz={cutoff_hz} must be between 0 and the Nyquist frequency {nyquist:g} Hz")
    sos = butter(2, cutoff_hz, btype="highpass", fs=rate, output="sos")
    try:
        return sosfiltfilt(sos, acc, axis=1)
    except ValueError as exc:
        raise ReadError(
            source, f"{acc.shape[1]} steps are too few for the gravity high-pass filter ({exc}); use gravity='mean'"
        ) from exc
