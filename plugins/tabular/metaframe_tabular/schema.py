"""The fitted state of a table: column order, kinds, vocabularies, means and standard deviations.

Fitted on training rows only and saved as readable JSON (``fitted_state``); the tokenizer's
parameter shapes follow from it, so it must be loaded before the state_dict.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from metaframe.ops.guards import FLOAT32_MAX

FORMAT = "metaframe-tabular/1"
NUMERIC, CATEGORICAL = "numeric", "categorical"


@dataclass
class Column:
    """One column: numeric (mean, std) or categorical (categories; index 0 is reserved for unknown)."""

    name: str
    kind: str
    mean: float = 0.0
    std: float = 1.0
    categories: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        if self.kind == NUMERIC:
            return {"name": self.name, "type": NUMERIC, "mean": self.mean, "std": self.std}
        return {"name": self.name, "type": CATEGORICAL, "categories": list(self.categories)}


def category_key(value: Any) -> str:
    """The vocabulary key of a value: 3, 3.0 and "3" are one category; True is "True"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def fit_columns(
    rows: Sequence[dict[str, Any]],
    categorical: Iterable[str] = (),
    numeric: Iterable[str] = (),
    min_frequency: int = 1,
) -> list[Column]:
    """Infer kinds (numbers → numeric, anything else → categorical, unless given) and fit statistics."""
    if not rows:
        raise ValueError("cannot fit a tabular tokenizer on zero rows")
    names = list(rows[0])
    categorical, numeric = set(categorical), set(numeric)
    both = categorical & numeric
    if both:
        raise ValueError(f"columns {sorted(both)} are given as both categorical and numeric")
    unknown = sorted((categorical | numeric) - set(names))
    if unknown:
        raise ValueError(f"columns {unknown} were given a type but are not in the data (columns: {', '.join(names)})")
    columns: list[Column] = []
    for name in names:
        values = [row[name] for row in rows if row[name] is not None]
        if name in numeric or (name not in categorical and values and all(is_number(v) for v in values)):
            bad = next((v for v in values if not is_number(v)), None)
            if bad is not None:
                raise ValueError(f"column {name!r} is numeric but holds {bad!r} ({type(bad).__name__})")
            try:
                finite = [float(v) for v in values if math.isfinite(float(v))]
            except OverflowError:
                finite = [math.inf]  # an int past float64: refused just below
            if any(abs(v) > FLOAT32_MAX for v in finite):
                big = next(v for v in finite if abs(v) > FLOAT32_MAX)
                raise ValueError(f"column {name!r} holds {big!r}, beyond float32 (|x| <= {FLOAT32_MAX:.3g}); rescale it")
            mean = math.fsum(finite) / len(finite) if finite else 0.0
            var = math.fsum((v - mean) ** 2 for v in finite) / len(finite) if finite else 0.0
            std = math.sqrt(var) if var > 0 else 1.0  # a constant column stays centred, not divided by 0
            columns.append(Column(name, NUMERIC, mean=mean, std=std))
        else:
            counts = Counter(category_key(v) for v in values)
            kept = sorted(k for k, n in counts.items() if n >= min_frequency)
            columns.append(Column(name, CATEGORICAL, categories=kept))
    return columns


def to_state(columns: Sequence[Column], rows_seen: int) -> dict[str, Any]:
    return {"format": FORMAT, "rows_seen": rows_seen, "columns": [c.to_dict() for c in columns]}


def from_state(state: dict[str, Any] | str | os.PathLike[str]) -> list[Column]:
    """Columns from a fitted-state dict (or a JSON file holding one); every field is checked."""
    if isinstance(state, (str, os.PathLike)):
        state = json.loads(Path(state).read_text(encoding="utf-8"))
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise ValueError(f"fitted state: expected format {FORMAT!r}, found {found!r}")
    entries = state.get("columns")
    if not isinstance(entries, list) or not entries:
        raise ValueError("fitted state: 'columns' must be a non-empty list")
    columns: list[Column] = []
    for i, entry in enumerate(entries):
        kind = entry.get("type") if isinstance(entry, dict) else None
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or kind not in (NUMERIC, CATEGORICAL):
            raise ValueError(f"fitted state: columns[{i}] needs a string 'name' and 'type' numeric|categorical, got {entry!r}")
        if kind == NUMERIC:
            mean, std = entry.get("mean"), entry.get("std")
            if not is_number(mean) or not is_number(std) or not std > 0:
                raise ValueError(f"fitted state: column {name!r} needs a numeric 'mean' and a positive 'std', got {mean!r}, {std!r}")
            columns.append(Column(name, NUMERIC, mean=float(mean), std=float(std)))
        else:
            cats = entry.get("categories")
            if not isinstance(cats, list) or not all(isinstance(c, str) for c in cats) or len(set(cats)) != len(cats):
                raise ValueError(f"fitted state: column {name!r} needs 'categories', a list of distinct strings")
            columns.append(Column(name, CATEGORICAL, categories=list(cats)))
    names = [c.name for c in columns]
    if len(set(names)) != len(names):
        raise ValueError(f"fitted state: duplicate column names in {names}")
    return columns
