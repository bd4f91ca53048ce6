"""Reading CSV / Parquet files into pandas tables, and columns out of them, with errors that
name the file and the column instead of a parser traceback. Used by time_series and imu.

pandas (and pyarrow, for Parquet) are imported when a function runs, so ``import metaframe.ops``
stays light; a plugin that reads tables lists them in its own dependencies.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from metaframe_registry import ReadError

from .files import require_file

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

TABLE_EXTENSIONS = (".csv", ".parquet", ".pq")


def load_table(path: str | os.PathLike[str]) -> "pd.DataFrame":
    """A CSV or Parquet file as a DataFrame with at least one row (a public entry: the file is checked)."""
    import pandas as pd

    p = require_file(path)
    ext = p.suffix.lower()
    if ext not in TABLE_EXTENSIONS:
        raise ReadError(path, f"unsupported extension {ext!r}; expected one of {', '.join(TABLE_EXTENSIONS)}")
    try:
        table = pd.read_csv(p) if ext == ".csv" else pd.read_parquet(p)
    except pd.errors.EmptyDataError as exc:
        raise ReadError(path, "no columns or rows (empty CSV)") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ReadError(path, f"malformed CSV ({str(exc).splitlines()[0]})") from exc
    except ImportError as exc:
        raise ReadError(path, f"reading {ext} files needs pyarrow ({exc}); pip install pyarrow") from exc
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for a corrupt file
        detail = str(exc).splitlines()[0] if str(exc) else ""
        raise ReadError(path, f"corrupt or unreadable {ext} file ({type(exc).__name__}: {detail})") from exc
    if len(table) == 0:
        raise ReadError(path, f"has a header ({', '.join(map(str, table.columns))}) but no data rows")
    return table


def require_columns(table: "pd.DataFrame", columns: Sequence[str], source: Any, what: str = "columns") -> None:
    """Every one of ``columns`` is in ``table``, or a ReadError naming the missing ones and those the file has."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ReadError(
            source,
            f"missing {what} {', '.join(map(repr, missing))}; the file has: {', '.join(map(repr, map(str, table.columns)))}",
        )


def numeric_column(table: "pd.DataFrame", column: str, source: Any) -> np.ndarray:
    """A column as float64; empty cells become NaN, anything non-numeric is an error naming the row."""
    import pandas as pd

    require_columns(table, [column], source, "column")
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


def datetime_column(table: "pd.DataFrame", column: str, source: Any) -> "pd.DatetimeIndex":
    """A timestamp column parsed to datetimes; unparseable or missing stamps are errors naming the row."""
    import pandas as pd

    require_columns(table, [column], source, "timestamp column")
    try:
        stamps = pd.DatetimeIndex(pd.to_datetime(table[column], errors="raise"))
    except (ValueError, TypeError, OverflowError) as exc:
        raise ReadError(source, f"timestamp column {column!r} cannot be parsed as dates ({str(exc).splitlines()[0]})") from exc
    if stamps.isna().any():
        row = int(np.flatnonzero(stamps.isna())[0])
        raise ReadError(source, f"timestamp column {column!r} has a missing timestamp at row {row}")
    return stamps
