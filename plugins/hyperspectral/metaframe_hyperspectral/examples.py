"""Small example cubes (a ``.npy`` and an ENVI bil pair, 10 bands, different sizes) for the conformance kit."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_envi(path: Path, cube: np.ndarray, interleave: str = "bsq", offset: int = 0, byte_order: int = 0) -> Path:
    """Write ``cube [H, W, bands]`` as an ENVI header ``path`` + data file ``path`` without ``.hdr``."""
    codes = {np.dtype(np.uint8): 1, np.dtype(np.int16): 2, np.dtype(np.int32): 3, np.dtype(np.float32): 4,
             np.dtype(np.float64): 5, np.dtype(np.uint16): 12}
    h, w, b = cube.shape
    order = {"bsq": (2, 0, 1), "bil": (0, 2, 1), "bip": (0, 1, 2)}[interleave]
    data = np.transpose(cube, order).astype(cube.dtype.newbyteorder(">" if byte_order else "<"))
    path.with_suffix(".img").write_bytes(b"\0" * offset + data.tobytes())
    path.write_text(
        "ENVI\ndescription = {metaframe example}\n"
        f"samples = {w}\nlines = {h}\nbands = {b}\nheader offset = {offset}\nfile type = ENVI Standard\n"
        f"data type = {codes[cube.dtype]}\ninterleave = {interleave}\nbyte order = {byte_order}\n"
    )
    return path


def write_examples(directory: Path) -> list[Path]:
    rng = np.random.default_rng(0)
    directory.mkdir(parents=True, exist_ok=True)
    npy = directory / "cube.npy"
    np.save(npy, rng.integers(0, 4000, size=(9, 9, 10)).astype(np.uint16))
    envi = write_envi(directory / "scene.hdr", rng.random((6, 8, 10), dtype=np.float32), "bil")
    return [npy, envi]
