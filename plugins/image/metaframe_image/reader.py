"""Reading images into float tensors ``[C, H, W]`` without losing dynamic range.

Decoding (Pillow), bit-depth scaling (8-bit / 255, 16-bit / 65535, floats kept), channels,
float resizing and normalisation are ``metaframe.ops`` helpers; this module picks the image
modality's defaults.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

from metaframe.ops import prepare_image, to_chw_tensor


def read_image(
    source: Any,
    size: int | Sequence[int] | None = 224,
    normalize: str | dict[str, Sequence[float]] | None = "imagenet",
    channels: int | None = 3,
) -> torch.Tensor:
    """One image as float ``[C, H, W]``: decoded, channels set, resized, normalised."""
    return prepare_image(to_chw_tensor(source, tiff="pillow"), source, size, normalize, channels)
