"""Checks a reader runs before trusting a file: text that decodes, header counts the file can
hold, sizes within a documented limit, finite values. Each failure is a ``ReadError`` naming
the source, so a hostile or corrupt file never reaches a decoder's raw error or a huge allocation.

numpy only (no torch), like the rest of ``metaframe.ops``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from metaframe_registry import ReadError


def read_text(path: str | os.PathLike[str], what: str = "a text file") -> str:
    """The file's text as UTF-8 (a BOM is dropped); binary or other encodings are a ``ReadError``."""
    try:
        return Path(path).read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ReadError(path, f"not UTF-8 text, expected {what} (byte {exc.start}: {exc.reason})") from exc
    except OSError as exc:
        raise ReadError(path, f"cannot be opened ({exc.strerror or exc})") from exc


def check_declared_size(count: int, item_bytes: int, file_size: int, source: Any, what: str = "items") -> None:
    """Refuse a header that declares ``count`` items of at least ``item_bytes`` bytes each when the
    file (``file_size`` bytes) cannot hold them: caught before anything is allocated for them."""
    if count < 0:
        raise ReadError(source, f"header declares {count} {what}, expected a count >= 0")
    need = int(count) * max(int(item_bytes), 1)
    if need > file_size:
        raise ReadError(
            source,
            f"header declares {count} {what} (at least {need} bytes), but the file holds {file_size} bytes: "
            "truncated or corrupt",
        )


def check_limit(count: int, limit: int | None, source: Any, what: str, option: str) -> None:
    """Refuse ``count`` above a reader's documented ``limit`` (None: no limit), naming the option to raise."""
    if limit is not None and count > limit:
        raise ReadError(source, f"has {count} {what}, more than the limit {option}={limit} (raise {option} to read it)")


def finite_or_raise(values: Any, source: Any, what: str = "values") -> np.ndarray:
    """``values`` as an array if every entry is finite; else a ``ReadError`` counting NaN / inf
    and giving the index of the first one."""
    array = np.asarray(values)
    if array.dtype.kind not in "fc":
        return array
    bad = ~np.isfinite(array)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        nan, inf = int(np.isnan(array).sum()), int(np.isinf(array).sum())
        where = first[0] if len(first) == 1 else first
        raise ReadError(source, f"{what}: {nan} NaN and {inf} infinite value(s), first at index {where}")
    return array


FLOAT32_MAX = float(np.finfo(np.float32).max)
SQUARE_SAFE = float(np.sqrt(np.finfo(np.float32).max))  # about 1.8e19: larger values overflow when squared


def within_or_raise(
    values: Any, source: Any, limit: float, names: Any = None, what: str = "value", why: str = ""
) -> np.ndarray:
    """``values`` (``[T, C]`` or ``[C]``) as an array if every entry is finite and ``|x| <= limit``;
    else a ``ReadError`` naming the first bad entry's column (``names[c]`` or its index) and step.

    ``FLOAT32_MAX`` is the limit of a value cast to float32; ``SQUARE_SAFE`` that of one whose
    square (a variance, RevIN) is taken in float32. NaN is left to the caller's missing-value rule.
    """
    array = np.asarray(values)
    if array.dtype.kind not in "fiu" or array.size == 0:
        return array
    with np.errstate(invalid="ignore"):
        bad = np.isinf(array) | (np.abs(array) > limit) if array.dtype.kind == "f" else np.abs(array) > limit
    if not bad.any():
        return array
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    column = first[-1]
    label = repr(str(names[column])) if names is not None and column < len(names) else str(column)
    step = f" at step {first[0]}" if len(first) > 1 else ""
    found = array[first]
    problem = "is an infinite value (clean the data: inf cannot be filled or normalised)" if np.isinf(found) else f"exceeds {limit:.3g} in magnitude"
    raise ReadError(
        source,
        f"{int(bad.sum())} {what}(s) out of range; the first, {float(found):g} in column {label}{step}, {problem}"
        + (f" ({why})" if why and not np.isinf(found) else ""),
    )
