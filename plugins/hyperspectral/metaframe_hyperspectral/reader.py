"""Reading one hyperspectral cube into a float tensor ``[bands, H, W]``.

Values are kept in the file's units (no scaling by bit depth): each band's range is learnt by
the tokenizer's per-band normalisation, fitted on training data.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np
import torch

from metaframe.ops import resize_image
from metaframe_registry import ReadError

from .cube_files import load_cube_file


def to_cube_tensor(source: Any, variable: str | None = None) -> torch.Tensor:
    """A file, an array ``[H, W, bands]`` or a tensor ``[bands, H, W]`` → float32 ``[bands, H, W]``."""
    if isinstance(source, (str, os.PathLike)):
        array = load_cube_file(source, variable)
        return torch.from_numpy(np.ascontiguousarray(array.astype(np.float32, copy=False))).permute(2, 0, 1)
    if isinstance(source, torch.Tensor):
        if source.dim() != 3:
            raise ReadError(source, f"expected a tensor [bands, H, W], got {source.dim()} dimensions")
        return source.detach().float()
    if isinstance(source, np.ndarray):
        if source.ndim != 3 or source.dtype.kind not in "biuf":
            raise ReadError(source, f"expected a numeric array [H, W, bands], got {source.dtype} of shape {source.shape}")
        return torch.from_numpy(np.ascontiguousarray(source.astype(np.float32))).permute(2, 0, 1)
    raise ReadError(source, "expected a cube file (.mat, .npy, .npz, ENVI .hdr), an array [H, W, bands] or a tensor [bands, H, W]")


def read_cube(
    source: Any,
    variable: str | None = None,
    bands: int | None = None,
    size: int | Sequence[int] | None = None,
) -> torch.Tensor:
    """One cube as float32 ``[bands, H, W]``.

    ``variable``: the array's name in a ``.mat`` / ``.npz`` file (default: its only 3-D array).
    ``bands``: the band count the model expects; another count is an error naming the file.
    ``size``: spatial resize (antialiased bilinear, per band) for whole-image batches of mixed
    sizes; ``None`` (default) keeps the size, and collate then refuses mixed sizes.
    """
    cube = to_cube_tensor(source, variable)
    if cube.numel() == 0:
        raise ReadError(source, f"cube has no values (shape {tuple(cube.shape)} as [bands, H, W])")
    if bands is not None and cube.shape[0] != bands:
        raise ReadError(source, f"has {cube.shape[0]} bands, expected {bands}")
    bad = int((~torch.isfinite(cube)).sum())
    if bad:
        raise ReadError(source, f"cube holds {bad} NaN or infinite values; fill or mask them before reading")
    return resize_image(cube, size)
