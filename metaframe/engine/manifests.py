"""Manifest files: rows of a ``.csv``, ``.jsonl`` / ``.ndjson`` or ``.parquet`` file, one dict per sample.

Parquet is read with pyarrow one record batch at a time (``ParquetFile.iter_batches``), so a
manifest with in-cell data (image bytes, long texts) never needs to fit in memory as a table;
each row's cells come back as Python values (bytes, str, numbers, lists).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Iterator

from metaframe_registry import ConfigError

MANIFEST_SUFFIXES = (".csv", ".jsonl", ".ndjson", ".parquet", ".pq")
PARQUET_SUFFIXES = (".parquet", ".pq")
PARQUET_BATCH_ROWS = 1024
"""Rows per record batch read from a Parquet manifest (pyarrow reads within row groups)."""


def is_parquet(path: Path) -> bool:
    return path.suffix.lower() in PARQUET_SUFFIXES


def row_name(path: Path, index: int) -> str:
    """How a row is named in messages: ``file.csv:LINE``, ``file.jsonl:LINE`` or ``file.parquet[ROW]``."""
    if is_parquet(path):
        return f"{path}[{index}]"
    return f"{path}:{index + 2 if path.suffix.lower() == '.csv' else index + 1}"


def _parquet(path: Path) -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ConfigError(f"{path}: reading Parquet manifests needs pyarrow: pip install 'metaframe[parquet]'") from None
    try:
        return pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow's errors (ArrowInvalid, OSError) become one readable line
        raise ConfigError(f"{path}: not a readable Parquet file ({' '.join(str(exc).split())})") from None


def read_manifest_rows(path: Path) -> Iterator[dict[str, Any]]:
    """The manifest's rows in order, read lazily."""
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        parquet = _parquet(path)
        for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS):
            yield from batch.to_pylist()
    elif suffix == ".csv":
        with open(path, newline="", encoding="utf-8") as fh:
            yield from csv.DictReader(fh)
    else:
        with open(path, encoding="utf-8") as fh:
            for i, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise ConfigError(f"{path}:{i}: not valid JSON ({exc.msg})") from None


def manifest_row_count(path: Path) -> int:
    """Rows in a manifest (Parquet: from its footer, nothing else read)."""
    if is_parquet(path):
        return int(_parquet(path).metadata.num_rows)
    return sum(1 for _ in read_manifest_rows(path))


def manifest_columns(path: Path) -> list[str]:
    """Column names (Parquet: from its schema; CSV / JSONL: the first row's)."""
    if is_parquet(path):
        return list(_parquet(path).schema_arrow.names)
    first = next(read_manifest_rows(path), None)
    return list(first) if first else []
