"""The tabular task of ``metaframe demo``: scikit-learn's wine measurements (real, nothing downloaded)."""

from __future__ import annotations

from typing import Any

from metaframe.demo import DemoTask


def _wine(quick: bool) -> tuple[list[Any], list[Any]]:
    from sklearn.datasets import load_wine

    d = load_wine()
    rows = [{name: float(v) for name, v in zip(d.feature_names, row)} for row in d.data]
    return rows, [str(d.target_names[t]) for t in d.target]


def task() -> DemoTask:
    return DemoTask(modality="tabular", description="sklearn wine (13 measurements, real)", load=_wine)
