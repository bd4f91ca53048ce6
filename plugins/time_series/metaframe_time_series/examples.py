"""Small example series (hourly CSVs of different lengths, 3 variables) for the conformance kit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def write_examples(directory: Path) -> list[Path]:
    rng = np.random.default_rng(0)
    paths = []
    for i, steps in enumerate([40, 24]):
        t = np.arange(steps)
        table = pd.DataFrame(
            {
                "date": pd.date_range("2016-07-01", periods=steps, freq="h"),
                "load": np.sin(2 * np.pi * t / 24) + 0.1 * rng.standard_normal(steps),
                "temp": 20 + np.cos(2 * np.pi * t / 24),
                "OT": 0.01 * t + rng.standard_normal(steps),
            }
        )
        path = directory / f"example_{i}.csv"
        table.to_csv(path, index=False)
        paths.append(path)
    return paths
