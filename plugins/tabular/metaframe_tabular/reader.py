"""Reading tables into rows: CSV / TSV / Parquet / JSON Lines files (pyarrow), DataFrames, dicts of columns.

A sample is one row: a plain ``dict`` column → value, with ``None`` for a missing value. A
source holding several rows gives a list of rows; ``read_dataset`` gives ``(row, target)``
pairs. CSV parsing is strict (pyarrow): a row with too many or too few fields is an error
naming the row, never a silently NaN-filled one.
"""

from __future__ import annotations

import math
import os
import reprlib
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from metaframe.ops import require_file
from metaframe.ops.guards import FLOAT32_MAX
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
                _refuse_invalid_text(path, encoding)  # pyarrow cannot hand such a row to our handler
                table = _read_csv(path, na_values, delimiter, encoding, text_columns, use_threads=False)
        else:
            raise ReadError(path, f"unsupported extension {suffix or '(none)'}: expected .csv, .tsv, .parquet or .jsonl")
    except ReadError:
        raise
    except UnicodeDecodeError as exc:  # pyarrow decoding a bad row's text for the row handler
        raise ReadError(
            path, f"not valid {encoding} text (byte {exc.start}: {exc.reason}); pass encoding='latin-1' (or the file's encoding)"
        ) from exc
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OSError) as exc:
        problem = str(exc).strip().splitlines()[0]
        if "invalid UTF8" in problem or "UTF8" in problem:
            problem += f"; the file is not valid {encoding}: pass encoding='latin-1' (or the file's encoding)"
        kind = "Parquet" if suffix in PARQUET_EXTENSIONS else "JSON Lines" if suffix in JSON_EXTENSIONS else "CSV"
        raise ReadError(path, f"malformed {kind}: {problem}") from exc
    try:
        table.column_names  # pyarrow decodes the header's names only when asked
    except UnicodeDecodeError as exc:
        raise ReadError(
            path, f"header is not valid {encoding} text (byte {exc.start}: {exc.reason}): binary data, or pass the file's encoding"
        ) from exc
    _refuse_nested(path, table)
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
                delimiter=delimiter or ("\t" if path.suffix.lower() == ".tsv" else ","),
                invalid_row_handler=None if use_threads else refuse,  # the fast pass only detects one
            ),
            convert_options=pacsv.ConvertOptions(
                null_values=null_values, strings_can_be_null=True, column_types={c: pa.string() for c in text_columns}
            ),
        )
    except pa.ArrowInvalid as exc:
        if use_threads and " columns, got " in str(exc):
            raise _RaggedRow() from exc
        if not bad_rows:
            raise
        row = bad_rows[0]
        where = f"line {row.number}" if row.number is not None else "a row"
        raise ReadError(
            path,
            f"{where}: expected {row.expected_columns} fields (as in the header), found {row.actual_columns}: "
            f"{row.text[:80]!r}",
        ) from exc


def _refuse_nested(path: Path, table: Any) -> None:
    """A list or object column (JSON Lines, Parquet) is refused from the schema, before pandas
    converts it: a list nested 5000 deep would overflow the stack there."""
    import pyarrow as pa

    for name, column in zip(table.column_names, table.columns):
        kind = column.type
        if not pa.types.is_nested(kind):
            continue
        what = "an object" if pa.types.is_struct(kind) else "a map" if pa.types.is_map(kind) else "a list"
        valid = column.is_valid().to_numpy(zero_copy_only=False)
        row = int(valid.argmax()) + 1 if valid.any() else 1
        raise ReadError(
            path, f"column {name!r}, data row {row}: holds a nested value ({what}); a cell must be a number, a text or missing"
        )


def _refuse_invalid_text(path: Path, encoding: str) -> None:
    """A file that is not ``encoding`` text (binary bytes, UTF-16 read as UTF-8): a ``ReadError``
    naming the line, found by decoding in 1 MiB chunks (run only when a row is ragged)."""
    import codecs

    if codecs.lookup(encoding).name not in ("utf-8", "utf-8-sig"):
        return  # pyarrow transcodes other encodings itself: its rows are valid UTF-8
    decoder = codecs.getincrementaldecoder("utf-8")()
    line, offset = 1, 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                start = max(exc.start, 0)
                line += chunk[:start].count(b"\n")
                raise ReadError(
                    path,
                    f"line {line}: not valid {encoding} text (byte {offset + start}: {exc.reason}); binary data, "
                    "or pass encoding='latin-1' (or the file's encoding)",
                ) from None
            line += chunk.count(b"\n")
            offset += len(chunk)


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


NESTED = (list, tuple, dict, set, np.ndarray)


def _where(source: Any, row: int) -> str:
    return f"data row {row + 1}" if isinstance(source, (str, os.PathLike)) else f"row {row}"


def _out_of_range(source: Any, column: str, row: int, value: Any) -> ReadError:
    if isinstance(value, float) and math.isinf(value):
        problem = "holds an infinite value; use an empty cell (None / NaN) for a missing one"
    else:
        text = repr(value) if len(repr(value)) <= 24 else f"{repr(value)[:12]}... ({len(repr(value))} digits)"
        problem = f"holds {text}, beyond float32 (|x| <= {FLOAT32_MAX:.3g}); rescale the column (other units)"
    return ReadError(
        source, f"column {column!r}, {_where(source, row)}: {problem}: numeric columns are standardised in float32"
    )


def check_cells(frame: Any, source: Any) -> None:
    """Unique column names, scalar cells, and numbers that are finite within float32 (else a
    ``ReadError`` naming the column and row): what the tokenizer would otherwise fail on, later
    and without the file's name, or turn into non-finite tokens."""
    columns = [str(c) for c in frame.columns]
    if len(set(columns)) != len(columns):
        dupes = sorted({c for c in columns if columns.count(c) > 1})
        raise ReadError(source, f"duplicate column names: {', '.join(map(repr, dupes))}; every column needs its own name")
    for j, column in enumerate(columns):
        values = frame.iloc[:, j].to_numpy()
        if values.dtype.kind in "iuf":
            numbers = values.astype(np.float64)
            with np.errstate(invalid="ignore"):
                bad = np.isinf(numbers) | (np.abs(numbers) > FLOAT32_MAX)  # NaN is a missing cell
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                raise _out_of_range(source, column, row, float(numbers[row]))
        elif values.dtype.kind == "O":
            for row, value in enumerate(values):
                if isinstance(value, NESTED):
                    text = reprlib.repr(value.tolist() if isinstance(value, np.ndarray) and value.ndim == 1 else value)
                    raise ReadError(
                        source,
                        f"column {column!r}, {_where(source, row)}: holds a nested value {text[:60]} "
                        f"({type(value).__name__}); a cell must be a number, a text or missing",
                    )
                if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
                    try:
                        number = float(value)
                    except OverflowError:
                        raise _out_of_range(source, column, row, value) from None
                    if math.isinf(number) or abs(number) > FLOAT32_MAX:
                        raise _out_of_range(source, column, row, number)


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
    check_cells(frame, source)
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
