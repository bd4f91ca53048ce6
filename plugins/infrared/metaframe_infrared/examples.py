"""Small example infrared images (a 16-bit PNG and a float32 TIFF) for the conformance kit."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_examples(directory: Path) -> list[Path]:
    import tifffile
    from PIL import Image

    rng = np.random.default_rng(0)
    directory.mkdir(parents=True, exist_ok=True)
    png = directory / "thermal_16bit.png"
    counts = rng.integers(7000, 9000, size=(32, 32)).astype(np.uint16)  # raw radiometric counts
    Image.fromarray(counts).save(png)
    tif = directory / "thermal_celsius.tif"
    tifffile.imwrite(tif, rng.normal(30.0, 2.0, size=(40, 24)).astype(np.float32))
    return [png, tif]
