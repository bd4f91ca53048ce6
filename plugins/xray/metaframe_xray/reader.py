"""Reading X-ray images: DICOM through pydicom, PNG / TIFF through ``metaframe.ops.to_chw_tensor``
(tifffile for TIFFs; 8/16-bit kept in full), then ``metaframe.ops.prepare_image`` (channels →
resize → normalise)."""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np
import torch

from metaframe.ops import prepare_image, to_chw_tensor

from .dicom import dataset_to_array, is_dicom_file, load_dicom_array


def _decode(source: Any) -> torch.Tensor:
    if isinstance(source, (str, os.PathLike)) and is_dicom_file(source):
        array = load_dicom_array(source)
    elif type(source).__module__.startswith("pydicom"):  # an in-memory pydicom Dataset
        array = dataset_to_array(source, source)
    else:
        return to_chw_tensor(source, tiff="tifffile")
    return torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1)


def read_xray(
    source: Any,
    size: int | Sequence[int] | None = 224,
    normalize: str | dict[str, Sequence[float]] | None = "per_image",
    channels: int | None = 1,
) -> torch.Tensor:
    """One X-ray as float ``[channels, size, size]``.

    Sources: a DICOM file (any suffix; recognised by its header), a ``pydicom.Dataset``, an
    8/16-bit PNG or TIFF, an array ``[H, W]`` / ``[H, W, C]`` or a tensor ``[C, H, W]``.
    DICOM values are in modality units (rescale applied, MONOCHROME1 inverted); PNG / TIFF
    integers are scaled to [0, 1] by their type's range. ``normalize``: ``per_image``
    (default; makes both comparable), ``none``, or ``{"mean": [m], "std": [s]}``. ``size``:
    resize target, or ``None`` to keep the size (mixed sizes are then refused by collate).
    """
    return prepare_image(_decode(source), source, size, normalize, channels)
