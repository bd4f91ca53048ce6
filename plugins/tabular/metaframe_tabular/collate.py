"""Rows → a column-wise batch. Every row must have the same columns (in any order)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence


@dataclass
class TableBatch:
    """Column name → list of raw values (None = missing), one entry per row, in the first row's order."""

    columns: dict[str, list[Any]]
    num_rows: int

    def __len__(self) -> int:
        return self.num_rows


def flatten_rows(samples: Sequence[Any]) -> list[dict[str, Any]]:
    """Rows, or lists of rows (what the reader returns for a multi-row source)."""
    out: list[dict[str, Any]] = []
    for item in samples:
        if isinstance(item, dict):
            out.append(item)
        elif isinstance(item, (list, tuple)):
            out.extend(flatten_rows(item))
        else:
            raise TypeError(f"cannot collate a {type(item).__name__} as a table row; expected a dict column → value")
    return out


def collate_rows(samples: Sequence[Any]) -> TableBatch:
    rows = flatten_rows(samples)
    if not rows:
        raise ValueError("cannot collate an empty list of rows")
    names = list(rows[0])
    expected = set(names)
    for i, row in enumerate(rows):
        if row.keys() != expected:
            missing = sorted(expected - row.keys())
            extra = sorted(row.keys() - expected)
            raise ValueError(
                f"row {i} has different columns from row 0: missing {missing}, unexpected {extra}"
            )
    return TableBatch({name: [row[name] for row in rows] for name in names}, len(rows))
