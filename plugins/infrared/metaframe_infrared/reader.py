"""Reading single-channel images (thermal, radiometric) without losing dynamic range.

Decoding is ``metaframe.ops.load_image_array``: PNG (8/16-bit) through Pillow, TIFF through tifffile, which
also reads 16-bit multi-sample, float32 and compressed TIFFs that Pillow cannot. Integer
data is scaled by its type's full range (uint16 / 65535), so 16-bit counts stay distinct;
float data is kept in its own units. Everything after decoding (channels, resize,
normalisation) reuses ``metaframe_image.reader``.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np
import torch

from metaframe.ops import load_image_array
from metaframe_image.reader import (
    apply_normalization,
    resize,
    set_channels,
    to_chw_tensor,
)
from metaframe_registry import ReadError


def to_tensor(source: Any) -> torch.Tensor:
    """A path, an array ``[H, W]`` / ``[H, W, C]`` or a tensor ``[C, H, W]`` → float ``[C, H, W]``."""
    if isinstance(source, (str, os.PathLike)):
        return torch.from_numpy(np.ascontiguousarray(load_image_array(source))).permute(2, 0, 1)
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
