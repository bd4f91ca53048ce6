"""Decoding image files to float32 ``[H, W, C]`` arrays, scaled by bit depth (see bit_depth.py).

Pillow reads PNG, JPEG, BMP, TIFF and WebP; tifffile (an optional dependency, imported when a
TIFF is read through ``load_tiff_array``) also reads 16-bit multi-sample, float32, planar and
compressed TIFFs that Pillow cannot. Missing or empty files are refused before decoding, so
these functions give the same errors when called outside ``Modality.read``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from metaframe_registry import ReadError

from metaframe.ops.bit_depth import scale_to_unit
from metaframe.ops.files import require_file

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
TIFF_SUFFIXES = (".tif", ".tiff")


def load_pillow_array(path: str | os.PathLike[str]) -> np.ndarray:
    """Decode any image Pillow reads to float32 ``[H, W, C]`` (palette → RGB(A), 16-bit / 65535)."""
    from PIL import Image, UnidentifiedImageError

    p = require_file(path, what="an image file")
    try:
        with Image.open(p) as img:
            img.load()
            mode = img.mode
            if mode in ("P", "PA"):
                img = img.convert("RGBA" if "transparency" in img.info or mode == "PA" else "RGB")
            elif mode in ("CMYK", "YCbCr"):
                img = img.convert("RGB")
            elif mode == "1":
                img = img.convert("L")
            array = np.array(img)
    except UnidentifiedImageError as exc:
        raise ReadError(path, "not an image Pillow can identify (expected PNG, JPEG, BMP, TIFF or WebP)") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ReadError(path, f"truncated or corrupt image ({exc})") from exc
    if mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        array = array.astype(np.float32) / 65535.0
    elif mode == "I":  # 32-bit integer: Pillow also uses this for 16-bit PNGs
        array = array.astype(np.float32) / (65535.0 if array.max(initial=0) <= 65535 else float(np.iinfo(np.int32).max))
    else:
        array = scale_to_unit(array)
    if array.ndim == 2:
        array = array[:, :, None]
    return array


def load_tiff_array(path: str | os.PathLike[str]) -> np.ndarray:
    """First image of a TIFF (tifffile) as float32 ``[H, W, C]``; planar ``[C, H, W]`` pages are moved.

    NaN or infinite values are refused: they would poison every later normalisation.
    """
    import tifffile

    p = require_file(path, what="an image file")
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


def load_image_array(path: str | os.PathLike[str], tiff: str = "tifffile") -> np.ndarray:
    """Decode an image file to float32 ``[H, W, C]``: TIFFs through ``tiff`` (``tifffile`` or
    ``pillow``), every other format through Pillow."""
    if tiff not in ("tifffile", "pillow"):
        raise ValueError(f"tiff={tiff!r}: expected 'tifffile' or 'pillow'")
    if tiff == "tifffile" and Path(path).suffix.lower() in TIFF_SUFFIXES:
        return load_tiff_array(path)
    return load_pillow_array(path)
