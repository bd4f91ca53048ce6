"""Small example clouds (different sizes) for the conformance kit and the docs."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_examples(directory: Path) -> list[Path]:
    rng = np.random.default_rng(0)
    paths = []
    for i, n in enumerate([48, 64]):
        path = directory / f"example_{i}.xyz"
        np.savetxt(path, rng.normal(size=(n, 3)), fmt="%.6f")
        paths.append(path)
    return paths
