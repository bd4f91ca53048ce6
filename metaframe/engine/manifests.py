"""Manifest files: rows of a ``.csv``, ``.jsonl`` / ``.ndjson`` or ``.parquet`` file, one dict per sample.

Parquet is read with pyarrow one record batch at a time (``ParquetFile.iter_batches``), so a
manifest with in-cell data (image bytes, long texts) never needs to fit in memory as a table;
each row's cells come back as Python values (bytes, str, numbers, lists).
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

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


def read_manifest_rows(path: Path, columns: Sequence[str] | None = None) -> Iterator[dict[str, Any]]:
    """The manifest's rows in order, read lazily; ``columns`` limits what Parquet decodes (other formats
    return whole rows)."""
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        parquet = _parquet(path)
        for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=list(columns) if columns else None):
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


def source_value(value: Any, base: Path) -> Any:
    """A manifest cell as an input: a path (relative to the manifest) when such a file exists, else the value."""
    if isinstance(value, str) and value:
        candidate = Path(value) if Path(value).is_absolute() else base / value
        try:
            if candidate.exists():
                return candidate
        except (OSError, ValueError):  # a long text cell is no file name (ENAMETOOLONG), nor one with NUL
            pass
    if isinstance(value, list):
        return np.asarray(value, dtype=np.float32)
    return value


@dataclass(frozen=True)
class ManifestCell:
    """One row's input of a manifest given to ``encode`` (picklable): where it came from and its value."""

    manifest: Path
    row: int
    source: Any  # the cell resolved by ``source_value``: a path, a text, bytes, an array

    @property
    def name(self) -> str:
        return row_name(self.manifest, self.row)


def is_manifest(source: Any) -> bool:
    return isinstance(source, (str, os.PathLike)) and Path(source).suffix.lower() in MANIFEST_SUFFIXES and Path(source).is_file()


def manifest_cells(path: Path, column: str) -> list[ManifestCell]:
    """Every row's ``column`` cell (Parquet: that column only, one record batch at a time)."""
    found = manifest_columns(path)
    if column not in found:
        raise ConfigError(f"{path}: no column {column!r} (--column); found {', '.join(found) or 'no columns'}")
    cells = []
    for i, row in enumerate(read_manifest_rows(path, [column])):
        if column not in row:  # a JSONL record that leaves the key out
            raise ConfigError(f"{row_name(path, i)}: no {column!r} key (--column); found {', '.join(row) or 'none'}")
        cells.append(ManifestCell(path, i, source_value(row[column], path.parent)))
    if not cells:
        raise ConfigError(f"{path}: the manifest has no rows")
    return cells


def expand_manifests(sources: Sequence[Any], column: str | None) -> list[Any]:
    """With ``column``: each manifest among ``sources`` becomes its rows' cells; other sources stay."""
    if column is None:
        return list(sources)
    if not any(is_manifest(src) for src in sources):
        raise ConfigError(
            f"--column {column}: none of the inputs is a manifest file ({', '.join(MANIFEST_SUFFIXES)}); "
            f"given: {', '.join(str(s) for s in sources[:3])}{' ...' if len(sources) > 3 else ''}"
        )
    out: list[Any] = []
    for src in sources:
        out += manifest_cells(Path(src), column) if is_manifest(src) else [src]
    return out
