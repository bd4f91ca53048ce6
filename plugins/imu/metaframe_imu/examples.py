"""Small example recordings (CSV, 50 Hz with jittered timestamps, different lengths) for the conformance kit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def write_examples(directory: Path) -> list[Path]:
    rng = np.random.default_rng(0)
    paths = []
    for i, steps in enumerate([64, 40]):
        t = np.arange(steps) / 50.0 + rng.uniform(0, 0.004, steps)
        table = pd.DataFrame({"timestamp": t})
        for axis, phase in zip("xyz", (0.0, 1.0, 2.0)):
            table[f"acc_{axis}"] = np.sin(2 * np.pi * 2 * t + phase) + (9.80665 if axis == "z" else 0.0)
            table[f"gyro_{axis}"] = 0.5 * np.cos(2 * np.pi * 1 * t + phase)
        path = directory / f"example_{i}.csv"
        table.to_csv(path, index=False)
        paths.append(path)
    return paths
