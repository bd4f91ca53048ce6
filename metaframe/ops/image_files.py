"""Decoding image files to float32 ``[H, W, C]`` arrays, scaled by bit depth (see bit_depth.py).

Pillow reads PNG, JPEG, BMP, TIFF and WebP; tifffile (an optional dependency, imported when a
TIFF is read through ``load_tiff_array``) also reads 16-bit multi-sample, float32, planar and
compressed TIFFs that Pillow cannot. Missing or empty files are refused before decoding, so
these functions give the same errors when called outside ``Modality.read``.

An image whose header declares more than ``MAX_IMAGE_PIXELS`` pixels (a decompression bomb: a
tiny file claiming 100000 x 100000) is refused from the header, before anything is allocated.
"""

from __future__ import annotations

import os
from pathlib import Path
from struct import error as struct_error

import numpy as np

from metaframe_registry import ReadError

from metaframe.ops.bit_depth import scale_to_unit
from metaframe.ops.files import require_file

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
TIFF_SUFFIXES = (".tif", ".tiff")
# Pillow's own default: about 89.5 million pixels (a 9459 x 9459 image), 1 GiB as float32 RGB.
MAX_IMAGE_PIXELS = 89_478_485


def _check_pixels(path: str | os.PathLike[str], width: int, height: int, max_pixels: int | None) -> None:
    """Refuse a header claiming more than ``max_pixels`` pixels (None: no limit) before decoding."""
    if max_pixels is not None and int(width) * int(height) > max_pixels:
        raise ReadError(
            path,
            f"header declares {int(width)} x {int(height)} = {int(width) * int(height)} pixels, more than the "
            f"limit of {max_pixels} (metaframe.ops.MAX_IMAGE_PIXELS; a decompression bomb or a huge scan: "
            "downscale it first, or pass max_pixels to load_image_array)",
        )


def load_pillow_array(path: str | os.PathLike[str], max_pixels: int | None = MAX_IMAGE_PIXELS) -> np.ndarray:
    """Decode any image Pillow reads to float32 ``[H, W, C]`` (palette → RGB(A), 16-bit / 65535).

    More than ``max_pixels`` pixels in the header, or NaN / infinite pixels (float TIFFs), are a
    ``ReadError``.
    """
    import warnings

    from PIL import Image, UnidentifiedImageError

    p = require_file(path, what="an image file")
    try:
        with warnings.catch_warnings():  # Pillow's own bomb check warns on its global limit: ours is below
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(p)
        with img:
            _check_pixels(path, img.width, img.height, max_pixels)
            img.load()
            mode = img.mode
            if mode in ("P", "PA"):
                img = img.convert("RGBA" if "transparency" in img.info or mode == "PA" else "RGB")
            elif mode in ("CMYK", "YCbCr"):
                img = img.convert("RGB")
            elif mode == "1":
                img = img.convert("L")
            array = np.array(img)
    except ReadError:
        raise
    except UnidentifiedImageError as exc:
        raise ReadError(path, "not an image Pillow can identify (expected PNG, JPEG, BMP, TIFF or WebP)") from exc
    except Image.DecompressionBombError as exc:  # Pillow's global limit, when set below ours
        raise ReadError(path, f"header declares more pixels than Pillow's Image.MAX_IMAGE_PIXELS allows ({exc})") from exc
    except MemoryError as exc:
        raise ReadError(path, "too large to decode in the memory available") from exc
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, struct_error) as exc:
        raise ReadError(path, f"truncated or corrupt image ({type(exc).__name__}: {exc})") from exc
    if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
        raise ReadError(path, f"image holds {int((~np.isfinite(array)).sum())} NaN or infinite pixel value(s)")
    if mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        array = array.astype(np.float32) / 65535.0
    elif mode == "I":  # 32-bit integer: Pillow also uses this for 16-bit PNGs
        array = array.astype(np.float32) / (65535.0 if array.max(initial=0) <= 65535 else float(np.iinfo(np.int32).max))
    else:
        array = scale_to_unit(array)
    if array.ndim == 2:
        array = array[:, :, None]
    return array


def load_tiff_array(path: str | os.PathLike[str], max_pixels: int | None = MAX_IMAGE_PIXELS) -> np.ndarray:
    """First image of a TIFF (tifffile) as float32 ``[H, W, C]``; planar ``[C, H, W]`` pages are moved.

    NaN or infinite values are refused: they would poison every later normalisation. So is a
    page whose header declares more than ``max_pixels`` pixels.
    """
    import tifffile

    p = require_file(path, what="an image file")
    try:
        with tifffile.TiffFile(p) as tif:
            if not tif.pages:
                raise ReadError(path, "TIFF holds no image")
            page = tif.pages.first
            axes = page.axes
            height, width = int(getattr(page, "imagelength", 0)), int(getattr(page, "imagewidth", 0))
            _check_pixels(path, width, height, max_pixels)
            array = page.asarray()
    except ReadError:
        raise
    except MemoryError as exc:
        raise ReadError(path, "too large to decode in the memory available") from exc
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


def load_image_array(
    path: str | os.PathLike[str], tiff: str = "tifffile", max_pixels: int | None = MAX_IMAGE_PIXELS
) -> np.ndarray:
    """Decode an image file to float32 ``[H, W, C]``: TIFFs through ``tiff`` (``tifffile`` or
    ``pillow``), every other format through Pillow; at most ``max_pixels`` pixels (None: no limit)."""
    if tiff not in ("tifffile", "pillow"):
        raise ValueError(f"tiff={tiff!r}: expected 'tifffile' or 'pillow'")
    if tiff == "tifffile" and Path(path).suffix.lower() in TIFF_SUFFIXES:
        return load_tiff_array(path, max_pixels)
    return load_pillow_array(path, max_pixels)
