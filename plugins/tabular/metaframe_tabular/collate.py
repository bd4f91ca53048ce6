"""Rows → a column-wise batch (every row must have the same columns, in any order), and its tensor form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch

from metaframe.device import Movable


@dataclass
class TableBatch:
    """Column name → list of raw values (None = missing), one entry per row, in the first row's order."""

    columns: dict[str, list[Any]]
    num_rows: int

    def __len__(self) -> int:
        return self.num_rows


@dataclass
class TableTensors(Movable):
    """A ``TableBatch`` after the fitted lookups, tensors only: what the tokenizer's tensor part takes.

    ``TabularTokenizer.tensor_batch`` makes it (standardising, vocabulary lookup: Python work on raw
    values); the tokenizer's ``forward`` and an exported graph take it. Numeric columns come first,
    then categorical ones, each in the fitted order.
    """

    numeric: torch.Tensor  # [B, numeric columns] float32, standardised, 0 where missing
    categories: torch.Tensor  # [B, categorical columns] int64, index in the column's categories, 0 = unknown / missing
    missing: torch.Tensor  # [B, numeric + categorical columns] bool

    def __len__(self) -> int:
        return int(self.numeric.shape[0])


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
