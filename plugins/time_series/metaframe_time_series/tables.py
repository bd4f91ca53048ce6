"""Reading CSV / Parquet files into pandas tables, and columns out of them, with errors that
name the file and the column instead of a parser traceback. Shared with metaframe-imu."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from metaframe_registry import ReadError

TABLE_EXTENSIONS = (".csv", ".parquet", ".pq")


def load_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A CSV or Parquet file as a DataFrame with at least one row."""
    p = Path(path)
    if not p.exists():
        raise ReadError(path, "file not found")
    if p.is_dir():
        raise ReadError(path, "is a directory, expected a file")
    if p.stat().st_size == 0:
        raise ReadError(path, "file is empty (0 bytes)")
    ext = p.suffix.lower()
    try:
        if ext == ".csv":
            table = pd.read_csv(p)
        elif ext in (".parquet", ".pq"):
            table = pd.read_parquet(p)
        else:
            raise ReadError(path, f"unsupported extension {ext!r}; expected one of {', '.join(TABLE_EXTENSIONS)}")
    except ReadError:
        raise
    except pd.errors.EmptyDataError as exc:
        raise ReadError(path, "no columns or rows (empty CSV)") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ReadError(path, f"malformed CSV ({str(exc).splitlines()[0]})") from exc
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for a corrupt file
        raise ReadError(path, f"corrupt or unreadable {ext} file ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from exc
    if len(table) == 0:
        raise ReadError(path, f"has a header ({', '.join(map(str, table.columns))}) but no data rows")
    return table


def require_columns(table: pd.DataFrame, columns: Sequence[str], source: Any, what: str = "columns") -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ReadError(
            source,
            f"missing {what} {', '.join(map(repr, missing))}; the file has: {', '.join(map(repr, map(str, table.columns)))}",
        )


def numeric_column(table: pd.DataFrame, column: str, source: Any) -> np.ndarray:
    """A column as float64; empty cells become NaN, anything non-numeric is an error naming the row."""
    series = table[column]
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    converted = pd.to_numeric(series, errors="coerce")
    bad = converted.isna() & series.notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ReadError(
            source, f"column {column!r} is not numeric: row {row} holds {series.iloc[row]!r} (expected a number)"
        )
    return converted.to_numpy(dtype=np.float64, na_value=np.nan)


def datetime_column(table: pd.DataFrame, column: str, source: Any) -> pd.DatetimeIndex:
    """A timestamp column parsed to datetimes; unparseable or missing stamps are errors."""
    try:
        stamps = pd.DatetimeIndex(pd.to_datetime(table[column], errors="raise"))
    except (ValueError, TypeError, OverflowError) as exc:
        raise ReadError(source, f"timestamp column {column!r} cannot be parsed as dates ({str(exc).splitlines()[0]})") from exc
    if stamps.isna().any():
        row = int(np.flatnonzero(stamps.isna())[0])
        raise ReadError(source, f"timestamp column {column!r} has a missing timestamp at row {row}")
    return stamps
