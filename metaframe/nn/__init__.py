"""Torch building blocks for tokenizers and heads, shared by the built-in plugins and open to
third-party ones (see docs/building-blocks.md). Importing this package imports torch."""

from metaframe.nn.patch_embed import FittablePatchEmbed2d
from metaframe.nn.patch_embed import PatchEmbed2d
from metaframe.nn.pos_embed import resize_pos_embed
from metaframe.nn.projection import PatchProjection
from metaframe.nn.projection import load_patch_projection
from metaframe.nn.projection import sum_input_channels
from metaframe.nn.patching import check_min_length
from metaframe.nn.patching import extract_patches
from metaframe.nn.patching import patch_counts
from metaframe.nn.revin import RevIN
from metaframe.nn.revin import undo_revin
from metaframe.nn.series_patches import SeriesPatchTokenizer
from metaframe.nn.sinusoidal import sinusoidal_positions
from metaframe.nn.tracing import exporting

__all__ = [
    "FittablePatchEmbed2d",
    "PatchEmbed2d",
    "PatchProjection",
    "load_patch_projection",
    "resize_pos_embed",
    "sum_input_channels",
    "RevIN",
    "SeriesPatchTokenizer",
    "check_min_length",
    "exporting",
    "extract_patches",
    "patch_counts",
    "sinusoidal_positions",
    "undo_revin",
]
