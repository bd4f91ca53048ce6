"""Numeric ``.npy`` files, with errors that name the file. Used by time_series and imu."""

from __future__ import annotations

import os

import numpy as np

from metaframe_registry import ReadError

from .files import require_file


def load_npy(path: str | os.PathLike[str]) -> np.ndarray:
    """A numeric (or bool) ``.npy`` array; pickles, archives and non-numeric data are refused.

    A public entry (also used for label files outside ``Modality.read``): the file is checked.
    """
    p = require_file(path)
    try:
        array = np.load(p, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ReadError(path, f"not a valid .npy file ({exc})") from exc
    if not isinstance(array, np.ndarray):
        raise ReadError(path, "holds an archive, expected a single .npy array")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise ReadError(path, f"holds {array.dtype} data, expected numbers")
    return array
