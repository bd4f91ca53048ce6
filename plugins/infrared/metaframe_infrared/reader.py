"""Reading single-channel images (thermal, radiometric) without losing dynamic range.

PNG (8/16-bit) goes through the image plugin's Pillow loader; TIFF through tifffile, which
also reads 16-bit multi-sample, float32 and compressed TIFFs that Pillow cannot. Integer
data is scaled by its type's full range (uint16 / 65535), so 16-bit counts stay distinct;
float data is kept in its own units. Everything after decoding (channels, resize,
normalisation) reuses ``metaframe_image.reader``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from metaframe_image.reader import (
    apply_normalization,
    load_image_array,
    resize,
    scale_to_unit,
    set_channels,
    to_chw_tensor,
)
from metaframe_registry import ReadError

TIFF_SUFFIXES = (".tif", ".tiff")


def load_tiff_array(path: str | os.PathLike[str]) -> np.ndarray:
    """First image of a TIFF as float32 ``[H, W, C]`` (planar ``[C, H, W]`` pages are moved)."""
    import tifffile

    p = Path(path)
    if not p.exists():
        raise ReadError(path, "file not found")
    if p.stat().st_size == 0:
        raise ReadError(path, "file is empty (0 bytes)")
    try:
        with tifffile.TiffFile(p) as tif:
            if not tif.pages:
                raise ReadError(path, "TIFF holds no image")
            page = tif.pages.first
            axes = page.axes
            array = page.asarray()
    except ReadError:
        raise
    except Exception as exc:  # tifffile raises many types for damaged files
        raise ReadError(path, f"truncated or corrupt TIFF ({type(exc).__name__}: {exc})") from exc
    if array.ndim == 3 and axes.startswith("S"):
        array = np.moveaxis(array, 0, -1)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3:
        raise ReadError(path, f"expected a 2-D image (axes YX or YXS), found axes {axes!r} with shape {array.shape}")
    if array.size == 0:
        raise ReadError(path, "image has no pixels")
    if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
        raise ReadError(path, "image holds NaN or infinite values")
    return scale_to_unit(array)


def load_array(path: str | os.PathLike[str]) -> np.ndarray:
    """Decode a PNG / TIFF (or any format Pillow reads) into float32 ``[H, W, C]``."""
    if Path(path).suffix.lower() in TIFF_SUFFIXES:
        return load_tiff_array(path)
    return load_image_array(path)


def to_tensor(source: Any) -> torch.Tensor:
    """A path, an array ``[H, W]`` / ``[H, W, C]`` or a tensor ``[C, H, W]`` → float ``[C, H, W]``."""
    if isinstance(source, (str, os.PathLike)):
        return torch.from_numpy(np.ascontiguousarray(load_array(source))).permute(2, 0, 1)
    return to_chw_tensor(source)


def finish(
    image: torch.Tensor,
    source: Any,
    size: int | Sequence[int] | None,
    normalize: str | dict[str, Sequence[float]] | None,
    channels: int | None,
) -> torch.Tensor:
    """Channels → resize → normalise: the steps after decoding, shared with metaframe-xray."""
    if image.numel() == 0:
        raise ReadError(source, "image has no pixels")
    c = image.shape[0]
    if channels is not None and c not in (channels, 1, 2, 3, 4):
        raise ReadError(source, f"has {c} channels, expected {channels} (or gray / RGB / RGBA to convert)")
    image = set_channels(image, channels, source)
    image = resize(image, size)
    return apply_normalization(image, normalize, source)


def read_infrared(
    source: Any,
    size: int | Sequence[int] | None = 224,
    normalize: str | dict[str, Sequence[float]] | None = "per_image",
    channels: int | None = 1,
) -> torch.Tensor:
    """One infrared image as float ``[channels, size, size]``.

    ``size``: resize target (antialiased, in float); ``None`` keeps the file's size, and then
    images of different sizes are refused by collate rather than misaligned.
    ``normalize``: ``per_image`` (zero mean, unit std per image), ``none`` (scaled values:
    integers in [0, 1], float TIFF in its own units), or dataset statistics
    ``{"mean": [m], "std": [s]}``; for statistics fitted by the tokenizer use ``none`` here
    and ``normalize="dataset"`` on the tokenizer. ``channels``: 1 (RGB → luminance, alpha
    dropped), 3, or ``None`` to keep the file's.
    """
    return finish(to_tensor(source), source, size, normalize, channels)
