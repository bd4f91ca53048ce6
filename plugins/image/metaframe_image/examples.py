"""Small example images for the conformance kit and the docs."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_examples(directory: Path) -> list[Path]:
    from PIL import Image

    rng = np.random.default_rng(0)
    paths = []
    for i, (h, w) in enumerate([(32, 32), (40, 24)]):
        path = directory / f"example_{i}.png"
        Image.fromarray(rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths
