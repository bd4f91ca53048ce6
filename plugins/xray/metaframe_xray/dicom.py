"""DICOM radiographs → float32 ``[H, W, C]`` in modality units (pydicom).

The modality LUT (rescale slope / intercept) is applied, so values mean what the scanner
meant (e.g. Hounsfield units for CT); MONOCHROME1 images (low values shown white) are
inverted within their value range so that bright always means dense, as in MONOCHROME2.
Compressed transfer syntaxes are decoded when pydicom has a decoder installed for them
(RLE always; JPEG variants with Pillow / pylibjpeg / gdcm), and refused by name otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from metaframe.ops import MAX_IMAGE_PIXELS, require_file
from metaframe_registry import ReadError

DICOM_SUFFIXES = (".dcm", ".dicom", ".dic")


def is_dicom_file(path: str | os.PathLike[str]) -> bool:
    """By suffix, or by the ``DICM`` marker after the 128-byte preamble (files often lack a suffix)."""
    p = Path(path)
    if p.suffix.lower() in DICOM_SUFFIXES:
        return True
    try:
        with open(p, "rb") as f:
            f.seek(128)
            return f.read(4) == b"DICM"
    except OSError:
        return False


def _stored_range(ds: Any) -> np.ndarray:
    bits = int(ds.get("BitsStored", ds.get("BitsAllocated", 16)))
    if int(ds.get("PixelRepresentation", 0)) == 1:
        return np.array([-(2 ** (bits - 1)), 2 ** (bits - 1) - 1])
    return np.array([0, 2**bits - 1])


def dataset_to_array(ds: Any, source: Any) -> np.ndarray:
    """Pixel data of a pydicom dataset → float32 ``[H, W, C]`` with rescale and MONOCHROME1 handled."""
    from pydicom.pixels import apply_modality_lut

    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        raise ReadError(source, "DICOM file holds no pixel data (truncated, or not an image object)")
    meta = getattr(ds, "file_meta", None)
    syntax = meta.get("TransferSyntaxUID") if meta is not None else None
    rows, columns = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    if rows * columns > MAX_IMAGE_PIXELS:  # a compressed bomb would decode to this much
        raise ReadError(
            source,
            f"header declares {rows} x {columns} = {rows * columns} pixels, more than the limit of "
            f"{MAX_IMAGE_PIXELS} (metaframe.ops.MAX_IMAGE_PIXELS)",
        )
    try:
        pixels = ds.pixel_array
    except MemoryError as exc:
        raise ReadError(source, "pixel data too large to decode in the memory available") from exc
    except (RuntimeError, NotImplementedError) as exc:
        if syntax is not None and syntax.is_compressed:
            raise ReadError(
                source,
                f"pixel data is compressed with {syntax.name} ({syntax}), which cannot be decoded here: "
                "install a pydicom decoder for it (pylibjpeg, pyjpegls or gdcm) or decompress the file "
                "(e.g. `gdcmconv --raw`)",
            ) from exc
        raise ReadError(source, f"cannot decode DICOM pixel data ({exc})") from exc
    except Exception as exc:  # pydicom raises ValueError / AttributeError / KeyError for damaged files
        raise ReadError(source, f"corrupt or truncated DICOM pixel data ({type(exc).__name__}: {exc})") from exc
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if frames > 1:
        raise ReadError(source, f"DICOM holds {frames} frames; the X-ray reader reads single-frame images")
    samples = int(ds.get("SamplesPerPixel", 1))
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip()
    array = pixels.astype(np.float32)
    if samples == 1:
        array = apply_modality_lut(pixels, ds).astype(np.float32)
        if photometric == "MONOCHROME1":
            low, high = apply_modality_lut(_stored_range(ds), ds).astype(np.float64)
            array = (float(low) + float(high) - array).astype(np.float32)
    elif photometric.startswith("YBR"):
        from pydicom.pixels import convert_color_space

        array = convert_color_space(pixels, photometric, "RGB").astype(np.float32)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.size == 0:
        raise ReadError(source, f"expected a 2-D image, found pixel data of shape {pixels.shape}")
    if not np.isfinite(array).all():
        raise ReadError(source, "pixel data holds NaN or infinite values")
    return array


def load_dicom_array(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a DICOM file (Part 10, with the ``DICM`` header) into float32 ``[H, W, C]``.

    Public, so it checks the file itself (``metaframe.ops.require_file``) like ``Modality.read`` does."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    p = require_file(path, what="a DICOM file")
    try:
        ds = pydicom.dcmread(p)
    except InvalidDicomError as exc:
        raise ReadError(path, "not a DICOM file (no 'DICM' header after the 128-byte preamble)") from exc
    except Exception as exc:
        raise ReadError(path, f"truncated or corrupt DICOM file ({type(exc).__name__}: {exc})") from exc
    return dataset_to_array(ds, path)
