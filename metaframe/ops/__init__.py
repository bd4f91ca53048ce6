"""Sample-side helpers for plugin readers: decoding, bit depth, channels, resizing, normalisation.

Importing this package needs numpy only; functions that return tensors import torch when called.
See docs/building-blocks.md for which plugins use what.
"""

from metaframe.ops.bit_depth import scale_to_unit
from metaframe.ops.image_files import IMAGE_EXTENSIONS
from metaframe.ops.image_files import TIFF_SUFFIXES
from metaframe.ops.image_files import load_image_array
from metaframe.ops.image_files import load_pillow_array
from metaframe.ops.image_files import load_tiff_array
from metaframe.ops.image_transforms import NORMALIZATION_STATS
from metaframe.ops.image_transforms import apply_normalization
from metaframe.ops.image_transforms import prepare_image
from metaframe.ops.image_transforms import resize_image
from metaframe.ops.image_transforms import set_channels
from metaframe.ops.image_transforms import to_chw_tensor

__all__ = [
    "IMAGE_EXTENSIONS",
    "NORMALIZATION_STATS",
    "TIFF_SUFFIXES",
    "apply_normalization",
    "load_image_array",
    "load_pillow_array",
    "load_tiff_array",
    "prepare_image",
    "resize_image",
    "scale_to_unit",
    "set_channels",
    "to_chw_tensor",
]
