"""Decoding bytes and reading the text (and label) column of JSONL / CSV / TSV files, strictly.

Every problem names the file and the line: malformed JSON, a record that is not an object, a
missing column, a CSV row with the wrong number of fields, bytes that are not valid UTF-8.
"""

from __future__ import annotations

import csv
import io
import json
import warnings
from pathlib import Path
from typing import Any

from metaframe_registry import ReadError

TABLE_EXTENSIONS = (".jsonl", ".ndjson", ".csv", ".tsv")


def decode_bytes(data: bytes, source: Any, encoding: str = "utf-8", errors: str = "strict") -> str:
    """Bytes → str; a leading BOM is dropped. Bad bytes: an error naming offset and line, or counted U+FFFD."""
    if errors not in ("strict", "replace"):
        raise ValueError(f"decode_errors={errors!r}: expected 'strict' or 'replace'")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        if errors == "replace":
            text = data.decode(encoding, errors="replace")
            count = text.count("\ufffd") - data.decode(encoding, errors="ignore").count("\ufffd")
            warnings.warn(f"{source}: {count} undecodable byte sequence(s) replaced with U+FFFD", stacklevel=3)
        else:
            line = data.count(b"\n", 0, exc.start) + 1
            raise ReadError(
                source,
                f"not valid {encoding} at byte {exc.start} (line {line}): {data[exc.start:exc.start + 4]!r}; "
                "pass encoding='latin-1' (or the file's encoding) or decode_errors='replace'",
            ) from exc
    except LookupError as exc:
        raise ValueError(f"encoding={encoding!r} is not a known text encoding") from exc
    return text.removeprefix("\ufeff")


def read_records(
    path: Path, text_column: str, label_column: str | None, encoding: str = "utf-8", errors: str = "strict"
) -> list[tuple[str, Any]]:
    """``(text, label)`` per record of a JSONL / CSV / TSV file (label None without ``label_column``)."""
    text = decode_bytes(path.read_bytes(), path, encoding, errors)
    if not text.strip():
        raise ReadError(path, "file is empty (no records)")
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        return _jsonl_records(path, text, text_column, label_column)
    return _csv_records(path, text, text_column, label_column, "\t" if path.suffix.lower() == ".tsv" else ",")


def _jsonl_records(path: Path, text: str, text_column: str, label_column: str | None) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ReadError(path, f"line {n}: malformed JSON ({exc.msg} at column {exc.colno})") from exc
        except RecursionError as exc:
            raise ReadError(path, f"line {n}: JSON nested too deeply to parse") from exc
        except ValueError as exc:  # e.g. an integer past Python's int string-conversion limit
            raise ReadError(path, f"line {n}: unreadable JSON value ({str(exc).splitlines()[0][:120]})") from exc
        if not isinstance(record, dict):
            raise ReadError(path, f"line {n}: expected a JSON object per line, found {type(record).__name__}")
        out.append((_field(path, n, record, text_column, str), _field(path, n, record, label_column, None)))
    return out


def _csv_records(path: Path, text: str, text_column: str, label_column: str | None, delimiter: str) -> list[tuple[str, Any]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
        wanted = [text_column] + ([label_column] if label_column is not None else [])
        for column in wanted:
            if column not in header:
                raise ReadError(path, f"no column {column!r} in the header (columns: {', '.join(header)})")
        ti = header.index(text_column)
        li = header.index(label_column) if label_column is not None else None
        out: list[tuple[str, Any]] = []
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                raise ReadError(
                    path, f"line {reader.line_num}: expected {len(header)} fields (as in the header), found {len(row)}"
                )
            out.append((row[ti], row[li] if li is not None else None))
    except csv.Error as exc:
        raise ReadError(path, f"line {reader.line_num}: malformed CSV ({exc})") from exc
    if not out:
        raise ReadError(path, "has a header but no rows")
    return out


def _field(path: Path, line: int, record: dict[str, Any], column: str | None, kind: type | None) -> Any:
    if column is None:
        return None
    if column not in record:
        raise ReadError(path, f"line {line}: no field {column!r} (fields: {', '.join(map(str, record))})")
    value = record[column]
    if kind is str and not isinstance(value, str):
        raise ReadError(path, f"line {line}: field {column!r} is a {type(value).__name__}, expected a string")
    return value
