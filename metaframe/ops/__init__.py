"""Sample-side helpers for plugin readers: decoding, bit depth, channels, resizing, normalisation.

Importing this package needs numpy only; functions that return tensors import torch when called.
See docs/building-blocks.md for which plugins use what.
"""

from metaframe.ops.bit_depth import scale_to_unit
from metaframe.ops.arrays import load_npy
from metaframe.ops.files import require_file
from metaframe.ops.guards import check_declared_size
from metaframe.ops.guards import check_limit
from metaframe.ops.guards import finite_or_raise
from metaframe.ops.guards import read_text
from metaframe.ops.guards import FLOAT32_MAX
from metaframe.ops.guards import SQUARE_SAFE
from metaframe.ops.guards import within_or_raise
from metaframe.ops.image_files import IMAGE_EXTENSIONS
from metaframe.ops.image_files import MAX_IMAGE_PIXELS
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
from metaframe.ops.missing import NAN_POLICIES
from metaframe.ops.missing import FilledValuesWarning
from metaframe.ops.missing import check_finite
from metaframe.ops.missing import fill_missing
from metaframe.ops.tables import TABLE_EXTENSIONS
from metaframe.ops.tables import datetime_column
from metaframe.ops.tables import load_table
from metaframe.ops.tables import numeric_column
from metaframe.ops.tables import require_columns

__all__ = [
    "IMAGE_EXTENSIONS",
    "MAX_IMAGE_PIXELS",
    "NORMALIZATION_STATS",
    "TIFF_SUFFIXES",
    "apply_normalization",
    "load_image_array",
    "load_pillow_array",
    "load_tiff_array",
    "prepare_image",
    "require_file",
    "resize_image",
    "scale_to_unit",
    "set_channels",
    "to_chw_tensor",
    "FilledValuesWarning",
    "NAN_POLICIES",
    "TABLE_EXTENSIONS",
    "check_finite",
    "datetime_column",
    "fill_missing",
    "load_npy",
    "load_table",
    "numeric_column",
    "require_columns",
    "check_declared_size",
    "check_limit",
    "finite_or_raise",
    "read_text",
    "FLOAT32_MAX",
    "SQUARE_SAFE",
    "within_or_raise",
]
