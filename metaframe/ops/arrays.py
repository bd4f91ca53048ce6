"""Numeric ``.npy`` files, with errors that name the file. Used by time_series and imu."""

from __future__ import annotations

import os
import zipfile
from typing import Any

import numpy as np

from metaframe_registry import ReadError

from .files import require_file
from .guards import check_declared_size


def _check_header(p: Any, path: Any) -> None:
    """A ``.npy`` header's shape must fit in the file: a 10^12-row claim is refused before allocating."""
    fmt = np.lib.format
    with open(p, "rb") as f:
        if f.read(6) != b"\x93NUMPY":
            return  # not a plain .npy (an .npz archive, junk): np.load words it
        f.seek(0)
        try:
            version = fmt.read_magic(f)
            read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
            shape, _, dtype = read(f, max_header_size=10000)
        except (ValueError, OSError, EOFError, SyntaxError, TypeError) as exc:
            raise ReadError(path, f"not a valid .npy file (bad header: {exc})") from exc
        header_end = f.tell()
    if dtype.hasobject:
        return  # refused by allow_pickle=False
    count = int(np.prod(shape, dtype=object)) if shape else 1
    check_declared_size(count, dtype.itemsize, p.stat().st_size - header_end, path, f"{dtype} values (shape {shape})")


def load_npy(path: str | os.PathLike[str]) -> np.ndarray:
    """A numeric (or bool) ``.npy`` array; pickles, archives and non-numeric data are refused.

    A public entry (also used for label files outside ``Modality.read``): the file is checked.
    """
    p = require_file(path)
    _check_header(p, path)
    try:
        array = np.load(p, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ReadError(path, f"not a valid .npy file ({exc})") from exc
    except MemoryError as exc:
        raise ReadError(path, "too large to load in the memory available") from exc
    if not isinstance(array, np.ndarray):
        raise ReadError(path, "holds an archive, expected a single .npy array")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise ReadError(path, f"holds {array.dtype} data, expected numbers")
    return array
