"""Reading tables into rows: CSV / TSV / Parquet / JSON Lines files (pyarrow), DataFrames, dicts of columns.

A sample is one row: a plain ``dict`` column → value, with ``None`` for a missing value. A
source holding several rows gives a list of rows; ``read_dataset`` gives ``(row, target)``
pairs. CSV parsing is strict (pyarrow): a row with too many or too few fields is an error
naming the row, never a silently NaN-filled one.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Sequence

from metaframe.ops import require_file
from metaframe_registry import ReadError

from .schema import category_key as category_text

CSV_EXTENSIONS = (".csv", ".tsv", ".txt")
PARQUET_EXTENSIONS = (".parquet", ".pq")
JSON_EXTENSIONS = (".jsonl", ".ndjson")
Row = dict[str, Any]


def is_missing(value: Any) -> bool:
    """None, NaN, pandas NA / NaT."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    try:
        import pandas as pd

        return bool(pd.isna(value)) if not isinstance(value, (str, bytes, list, tuple, dict)) else False
    except (TypeError, ValueError):
        return False


def plain(value: Any) -> Any:
    """numpy / pandas scalars → Python scalars; missing → None."""
    if is_missing(value):
        return None
    item = getattr(value, "item", None)
    return item() if callable(item) and not isinstance(value, (str, bytes)) else value


def load_frame(
    path: Path,
    na_values: Sequence[str] | None = None,
    delimiter: str | None = None,
    encoding: str = "utf-8",
    text_columns: Sequence[str] = (),
) -> Any:
    """A CSV / TSV / Parquet / JSON Lines file as a pandas DataFrame, with errors that name the file."""
    import pyarrow as pa

    require_file(path, what="a CSV or Parquet file")  # the dataset reads files outside Modality.read
    suffix = path.suffix.lower()
    try:
        if suffix in PARQUET_EXTENSIONS:
            import pyarrow.parquet as pq

            table = pq.read_table(path)
        elif suffix in JSON_EXTENSIONS:
            from pyarrow import json as pajson

            table = pajson.read_json(path)
        elif suffix in CSV_EXTENSIONS:
            try:
                table = _read_csv(path, na_values, delimiter, encoding, text_columns, use_threads=True)
            except _RaggedRow:  # read again on one thread: only then does pyarrow know the line number
                table = _read_csv(path, na_values, delimiter, encoding, text_columns, use_threads=False)
        else:
            raise ReadError(path, f"unsupported extension {suffix or '(none)'}: expected .csv, .tsv, .parquet or .jsonl")
    except ReadError:
        raise
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OSError) as exc:
        problem = str(exc).strip().splitlines()[0]
        if "invalid UTF8" in problem or "UTF8" in problem:
            problem += f"; the file is not valid {encoding}: pass encoding='latin-1' (or the file's encoding)"
        kind = "Parquet" if suffix in PARQUET_EXTENSIONS else "JSON Lines" if suffix in JSON_EXTENSIONS else "CSV"
        raise ReadError(path, f"malformed {kind}: {problem}") from exc
    if table.num_rows == 0:
        raise ReadError(path, f"has no rows (columns: {', '.join(table.column_names) or 'none'})")
    if suffix in CSV_EXTENSIONS:
        _refuse_undecodable(path, table, encoding)
    return table.to_pandas()


class _RaggedRow(Exception):
    pass


def _read_csv(
    path: Path,
    na_values: Sequence[str] | None,
    delimiter: str | None,
    encoding: str,
    text_columns: Sequence[str],
    use_threads: bool,
) -> Any:
    """pyarrow's CSV reader, strict about the number of fields (a ragged row names its line)."""
    import pyarrow as pa
    from pyarrow import csv as pacsv

    null_values = ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", *(na_values or [])]
    bad_rows: list[Any] = []

    def refuse(row: Any) -> str:  # remember the first ragged row, then let pyarrow stop
        bad_rows.append(row)
        return "error"

    try:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(encoding=encoding, use_threads=use_threads),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter or ("\t" if path.suffix.lower() == ".tsv" else ","), invalid_row_handler=refuse
            ),
            convert_options=pacsv.ConvertOptions(
                null_values=null_values, strings_can_be_null=True, column_types={c: pa.string() for c in text_columns}
            ),
        )
    except pa.ArrowInvalid as exc:
        if not bad_rows:
            raise
        row = bad_rows[0]
        if row.number is None and use_threads:
            raise _RaggedRow() from exc
        where = f"line {row.number}" if row.number is not None else "a row"
        raise ReadError(
            path,
            f"{where}: expected {row.expected_columns} fields (as in the header), found {row.actual_columns}: "
            f"{row.text[:80]!r}",
        ) from exc


def _refuse_undecodable(path: Path, table: Any, encoding: str) -> None:
    """pyarrow reads a CSV column holding invalid UTF-8 as binary, silently: name it instead."""
    import pyarrow as pa

    for name, column in zip(table.column_names, table.columns):
        if not (pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type)):
            continue
        for row, value in enumerate(column.to_pylist(), start=1):
            try:
                if value is not None:
                    value.decode("utf-8")
            except UnicodeDecodeError:
                raise ReadError(
                    path,
                    f"column {name!r}, data row {row}: not valid {encoding} text ({value[:24]!r}); "
                    "pass encoding='latin-1' (or the file's encoding)",
                ) from None


def frame_from(source: Any) -> tuple[Any, bool]:
    """(DataFrame, single_row) for a DataFrame, Series, dict of columns or dict of scalars."""
    import pandas as pd

    if isinstance(source, pd.DataFrame):
        return source, False
    if isinstance(source, pd.Series):
        return source.to_frame().T, True
    if isinstance(source, dict):
        if not source:
            raise ReadError(source, "empty dict: expected columns (name → values) or one row (name → value)")
        columnar = [isinstance(v, (list, tuple)) or getattr(v, "ndim", 0) == 1 for v in source.values()]
        if all(columnar):
            lengths = {k: len(v) for k, v in source.items()}
            if len(set(lengths.values())) > 1:
                raise ReadError(source, f"columns have different lengths: {lengths}")
            return pd.DataFrame(source), False
        if any(columnar):
            mixed = [k for k, c in zip(source, columnar) if c]
            raise ReadError(source, f"mixes list-valued columns ({', '.join(mixed)}) with scalar values; give all columns or one row")
        return pd.DataFrame([source]), True
    raise ReadError(source, "expected a CSV / Parquet path, a pandas DataFrame or Series, or a dict of columns / one row")


def rows_of(frame: Any) -> list[Row]:
    columns = [str(c) for c in frame.columns]
    if len(set(columns)) != len(columns):
        dupes = sorted({c for c in columns if columns.count(c) > 1})
        raise ValueError(f"duplicate column names: {', '.join(dupes)}")
    return [{c: plain(v) for c, v in zip(columns, values)} for values in frame.itertuples(index=False, name=None)]


def _frame_and_target(
    source: Any, target: str | None, columns: Sequence[str] | None, na_values: Sequence[str] | None,
    delimiter: str | None, encoding: str, text_columns: Sequence[str] | None,
) -> tuple[Any, Any, bool]:
    text_columns = list(text_columns or [])
    if isinstance(source, (str, os.PathLike)):
        frame, single = load_frame(Path(source), na_values, delimiter, encoding, text_columns), False
    else:
        frame, single = frame_from(source)
    frame = frame.rename(columns=str)
    available = list(frame.columns)
    absent = [c for c in text_columns if c not in available]
    if absent:
        raise ReadError(source, f"text_columns: no column {absent[0]!r} (columns: {', '.join(available)})")
    for column in text_columns:  # numbers from a DataFrame / Parquet become their text too
        frame[column] = [None if is_missing(v) else category_text(v) for v in frame[column].tolist()]
    targets = None
    if target is not None:
        if target not in available:
            raise ReadError(source, f"no target column {target!r} (columns: {', '.join(available)})")
        targets = [plain(v) for v in frame[target].tolist()]
        frame = frame.drop(columns=[target])
    if columns is not None:
        absent = [c for c in columns if c not in frame.columns]
        if absent:
            raise ReadError(source, f"no column {absent[0]!r} (columns: {', '.join(available)})")
        frame = frame[list(columns)]
    return frame, targets, single


def read_table(
    source: Any,
    target: str | None = None,
    columns: Sequence[str] | None = None,
    na_values: Sequence[str] | None = None,
    delimiter: str | None = None,
    encoding: str = "utf-8",
    text_columns: Sequence[str] | None = None,
) -> Row | list[Row]:
    """One row (a dict of scalars, a Series) or a list of rows (a file, a DataFrame, a dict of columns).

    ``target`` names a column to leave out of the features (``read_dataset`` returns it);
    ``columns`` keeps only those feature columns; ``na_values`` adds CSV strings read as missing
    (e.g. ``["?"]`` for the Adult data set); ``text_columns`` are read as text exactly as written
    (zip codes, ids: "01010" keeps its leading zero) rather than parsed as numbers.
    """
    frame, _, single = _frame_and_target(source, target, columns, na_values, delimiter, encoding, text_columns)
    rows = rows_of(frame)
    return rows[0] if single else rows


def read_dataset(
    path: Any,
    target: str | None = None,
    columns: Sequence[str] | None = None,
    na_values: Sequence[str] | None = None,
    delimiter: str | None = None,
    encoding: str = "utf-8",
    text_columns: Sequence[str] | None = None,
) -> list[tuple[Row, Any]]:
    """``(row, target)`` pairs from a file, a DataFrame or a dict of columns (options as ``read_table``).

    The target is None for every row without ``target``.
    """
    frame, targets, _ = _frame_and_target(path, target, columns, na_values, delimiter, encoding, text_columns)
    rows = rows_of(frame)
    return list(zip(rows, targets if targets is not None else [None] * len(rows)))
