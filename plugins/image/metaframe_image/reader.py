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

# Transitional: infrared, xray, video and hyperspectral still import these from here until they
# are moved to metaframe.ops (the one-mechanism sweep); new code imports metaframe.ops directly.
from metaframe.ops import NORMALIZATION_STATS as STATS  # noqa: E402,F401
from metaframe.ops import apply_normalization, scale_to_unit, set_channels  # noqa: E402,F401
from metaframe.ops import load_pillow_array as load_image_array  # noqa: E402,F401
from metaframe.ops import resize_image as resize  # noqa: E402,F401
