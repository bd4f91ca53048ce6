"""One token per column: categorical values embedded, numeric values projected, missing values learned.

- categorical column: its own vocabulary (fitted) with index 0 = unknown, rows of one shared
  embedding table (offsets per column);
- numeric column: standardised with the fitted mean / std, then ``z * w_col + b_col``;
- a missing value (None / NaN) in any column: that column's learned missing token.

Reading the raw values (standardising, vocabulary lookup, counting missing and unknown values)
is Python work, ``tensor_batch``; the rest of ``forward`` is tensors only (``TableTensors`` in), so
it can be exported as a graph.

The parameter shapes depend on the fitted vocabularies, so the order is:
``build → fit(train rows) → create the optimiser → train → save state_dict + fitted_state()``,
and to restore: ``build(fitted_state=...)`` (or ``load_fitted_state``) → ``load_state_dict``.
``fit`` (re)creates the parameters; the state_dict holds those tensors only — means, stds and
vocabularies live in the JSON ``fitted_state``.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Iterable, Sequence

import numpy as np
import torch
from torch import nn

from metaframe import extras as keys
from metaframe.ops.guards import FLOAT32_MAX
from metaframe.tokens import TokenBatch

from .collate import TableBatch, TableTensors, collate_rows, flatten_rows
from .schema import CATEGORICAL, NUMERIC, Column, category_key, fit_columns, from_state, to_state


class ColumnMismatchError(ValueError):
    """A batch whose columns are not the fitted ones (missing, renamed or new)."""


class UnknownCategoryWarning(UserWarning):
    """Categorical values not seen in fit were mapped to the unknown token."""


def as_batch(batch: Any) -> TableBatch:
    if isinstance(batch, TableBatch):
        return batch
    if isinstance(batch, dict):
        return collate_rows([batch])
    if isinstance(batch, (list, tuple)):
        return collate_rows(batch)
    raise TypeError(f"tabular tokenizer got a {type(batch).__name__}; expected a TableBatch (modality.collate) or rows")


class TabularTokenizer(nn.Module):
    """One token per column; see the module docstring for the fit → parameters → optimiser order."""

    cat_offsets: torch.Tensor  # buffers (not saved: they follow from the fitted state)
    num_mean: torch.Tensor
    num_std: torch.Tensor
    perm: torch.Tensor

    def __init__(
        self,
        embed_dim: int,
        categorical: Sequence[str] | None = None,
        numeric: Sequence[str] | None = None,
        min_frequency: int = 1,
        on_unknown: str = "count",
        fitted_state: dict[str, Any] | str | None = None,
    ) -> None:
        super().__init__()
        if on_unknown not in ("count", "warn", "error"):
            raise ValueError(f"on_unknown={on_unknown!r}: expected 'count', 'warn' or 'error'")
        if min_frequency < 1:
            raise ValueError(f"min_frequency must be at least 1, got {min_frequency}")
        self.embed_dim = embed_dim
        self.categorical = list(categorical or [])
        self.numeric = list(numeric or [])
        self.min_frequency = min_frequency
        self.on_unknown = on_unknown
        self.columns: list[Column] = []
        self.rows_seen = 0
        self.unknown_counts: dict[str, int] = {}
        self.missing_counts: dict[str, int] = {}
        if fitted_state is not None:
            self.load_fitted_state(fitted_state)

    # -- fitting -------------------------------------------------------------------------
    @property
    def fitted(self) -> bool:
        return bool(self.columns)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def fit(self, samples: Iterable[Any]) -> "TabularTokenizer":
        """Fit kinds, vocabularies, means and stds on training rows; (re)creates the parameters."""
        if isinstance(samples, TableBatch):
            rows = [dict(zip(samples.columns, values)) for values in zip(*samples.columns.values())]
        else:
            rows = flatten_rows(list(samples))
        collate_rows(rows)  # same columns in every row, or an error naming the row
        self._build(fit_columns(rows, self.categorical, self.numeric, self.min_frequency), len(rows))
        return self

    def fitted_state(self) -> dict[str, Any]:
        """JSON-serialisable: column order, kinds, categories, means, stds."""
        self._require_fitted()
        return to_state(self.columns, self.rows_seen)

    def load_fitted_state(self, state: dict[str, Any] | str) -> None:
        """Rebuild the parameters for a saved fitted state (then load the state_dict)."""
        columns = from_state(state)
        rows = state.get("rows_seen", 0) if isinstance(state, dict) else 0
        self._build(columns, int(rows))

    def reset_counts(self) -> None:
        self.unknown_counts = {c.name: 0 for c in self.columns if c.kind == CATEGORICAL}
        self.missing_counts = {c.name: 0 for c in self.columns}

    def _build(self, columns: list[Column], rows_seen: int) -> None:
        d = self.embed_dim
        self.columns, self.rows_seen = columns, rows_seen
        num = [c for c in columns if c.kind == NUMERIC]
        cat = [c for c in columns if c.kind == CATEGORICAL]
        self.num_weight = nn.Parameter(torch.randn(len(num), d) * 0.02)
        self.num_bias = nn.Parameter(torch.randn(len(num), d) * 0.02)
        sizes = [len(c.categories) + 1 for c in cat]  # + the unknown token at index 0
        self.cat_embed = nn.Embedding(sum(sizes), d)
        nn.init.normal_(self.cat_embed.weight, std=0.02)
        self.missing = nn.Parameter(torch.randn(len(columns), d) * 0.02)
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]) if sizes else np.zeros(0)
        self.register_buffer("cat_offsets", torch.as_tensor(offsets, dtype=torch.long), persistent=False)
        self.register_buffer("num_mean", torch.tensor([c.mean for c in num], dtype=torch.float32), persistent=False)
        self.register_buffer("num_std", torch.tensor([c.std for c in num], dtype=torch.float32), persistent=False)
        order = [columns.index(c) for c in num + cat]  # position of each (numeric, categorical) token
        self.register_buffer("perm", torch.as_tensor(np.argsort(order), dtype=torch.long), persistent=False)
        self._num, self._cat = num, cat
        self._index = [{v: i + 1 for i, v in enumerate(c.categories)} for c in cat]
        self.reset_counts()

    def _require_fitted(self) -> None:
        if not self.fitted:
            raise RuntimeError(
                "the tabular tokenizer is not fitted: call tokenizer.fit(training_rows) before training "
                "(then create the optimiser), or build it with fitted_state=<saved fitted_state()>"
            )

    # -- applying ------------------------------------------------------------------------
    def check_columns(self, names: Iterable[str]) -> None:
        got = list(names)
        missing = [n for n in self.column_names if n not in got]
        extra = [n for n in got if n not in self.column_names]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing column(s) {', '.join(map(repr, missing))} (fitted on them)")
            if extra:
                parts.append(f"unexpected column(s) {', '.join(map(repr, extra))} (not seen in fit; renamed?)")
            raise ColumnMismatchError(
                "the batch does not match the fitted columns: " + "; ".join(parts)
                + f". Fitted columns, in order: {', '.join(self.column_names)}"
            )

    def _numeric(self, batch: TableBatch) -> tuple[torch.Tensor, torch.Tensor]:
        b = batch.num_rows
        values = np.empty((b, len(self._num)), dtype=np.float64)
        for j, col in enumerate(self._num):
            raw = batch.columns[col.name]
            try:
                values[:, j] = [math.nan if v is None else float(v) for v in raw]
            except (TypeError, ValueError):
                bad = next(v for v in raw if v is not None and not _floatable(v))
                raise ValueError(f"column {col.name!r} is numeric (fitted) but holds {bad!r} ({type(bad).__name__})") from None
            if any(isinstance(v, (str, bool)) for v in raw):
                bad = next(v for v in raw if isinstance(v, (str, bool)))
                raise ValueError(f"column {col.name!r} is numeric (fitted) but holds {bad!r} ({type(bad).__name__})")
            if np.isinf(values[:, j]).any():
                raise ValueError(f"column {col.name!r} holds an infinite value; use None / NaN for a missing one")
            with np.errstate(invalid="ignore"):
                big = np.abs(values[:, j]) > FLOAT32_MAX
            if big.any():
                raise ValueError(f"column {col.name!r} holds {values[np.argmax(big), j]!r}, beyond float32; rescale it")
        missing = torch.from_numpy(np.isnan(values))
        # standardised in float64, then cast: (x - mean) of two float32-sized numbers can overflow float32
        mean = np.array([c.mean for c in self._num], dtype=np.float64)
        std = np.array([c.std for c in self._num], dtype=np.float64)
        z = torch.from_numpy((np.nan_to_num(values, nan=0.0) - mean) / std).to(dtype=torch.float32)
        return z.masked_fill(missing, 0.0), missing

    def _categorical(self, batch: TableBatch) -> tuple[torch.Tensor, torch.Tensor]:
        b = batch.num_rows
        idx = np.zeros((b, len(self._cat)), dtype=np.int64)
        missing = np.zeros((b, len(self._cat)), dtype=bool)
        for j, (col, index) in enumerate(zip(self._cat, self._index)):
            for i, v in enumerate(batch.columns[col.name]):
                if v is None or (isinstance(v, float) and math.isnan(v)):
                    missing[i, j] = True
                else:
                    idx[i, j] = index.get(category_key(v), 0)
        unknown = (idx == 0) & ~missing
        counts = unknown.sum(0)
        for j, col in enumerate(self._cat):
            if counts[j]:
                self.unknown_counts[col.name] += int(counts[j])
        if counts.any() and self.on_unknown != "count":
            seen = {col.name: int(n) for col, n in zip(self._cat, counts) if n}
            message = f"values not seen in fit mapped to the unknown token, per column: {seen}"
            if self.on_unknown == "error":
                raise ValueError(message)
            warnings.warn(message, UnknownCategoryWarning, stacklevel=3)
        return torch.from_numpy(idx), torch.from_numpy(missing)

    def tensor_batch(self, batch: Any) -> TableTensors:
        """The Python part of ``forward``: raw values → standardised numbers, category indices, missing flags.

        Checks the columns and the values, and counts missing and unknown values per column
        (``missing_counts``, ``unknown_counts``). Run it before an exported graph (see docs/export.md).
        """
        self._require_fitted()
        table = as_batch(batch)
        self.check_columns(table.columns)
        z, num_missing = self._numeric(table)
        ids, cat_missing = self._categorical(table)
        missing = torch.cat([num_missing, cat_missing], dim=1)
        for col, n in zip(self._num + self._cat, missing.sum(0).tolist()):
            self.missing_counts[col.name] += int(n)
        return TableTensors(z, ids, missing)

    def forward(self, batch: Any) -> TokenBatch:
        self._require_fitted()
        t = batch if isinstance(batch, TableTensors) else self.tensor_batch(batch)
        n_num, n_cat = len(self._num), len(self._cat)
        shapes = (tuple(t.numeric.shape[1:]), tuple(t.categories.shape[1:]), tuple(t.missing.shape[1:]))
        if shapes != ((n_num,), (n_cat,), (n_num + n_cat,)):
            raise ValueError(
                f"TableTensors: numeric / categories / missing have {shapes[0]} / {shapes[1]} / {shapes[2]} "
                f"columns; the fitted tokenizer expects ({n_num},) / ({n_cat},) / ({n_num + n_cat},)"
            )
        device = self.missing.device
        z, local, missing = t.numeric.to(device), t.categories.to(device), t.missing.to(device)
        num_missing, cat_missing = missing[:, :n_num], missing[:, n_num:]
        ids = local + self.cat_offsets
        cat_unknown = (local == 0) & ~cat_missing
        num_tokens = z.unsqueeze(-1) * self.num_weight + self.num_bias  # [B, n_num, D]
        cat_tokens = self.cat_embed(ids)  # [B, n_cat, D]
        tokens = torch.cat([num_tokens, cat_tokens.to(num_tokens.dtype)], dim=1).index_select(1, self.perm)
        missing = missing.index_select(1, self.perm)
        unknown = torch.cat([torch.zeros_like(num_missing), cat_unknown], dim=1).index_select(1, self.perm)
        tokens = torch.where(missing.unsqueeze(-1), self.missing.unsqueeze(0).to(tokens.dtype), tokens)
        return TokenBatch(tokens, None, {keys.MISSING: missing, keys.UNKNOWN: unknown})

    def extra_repr(self) -> str:
        if not self.fitted:
            return f"embed_dim={self.embed_dim}, not fitted"
        return f"embed_dim={self.embed_dim}, numeric={len(self._num)}, categorical={len(self._cat)}"


def _floatable(value: Any) -> bool:
    try:
        float(value)
        return True
    except (TypeError, ValueError):
        return False
