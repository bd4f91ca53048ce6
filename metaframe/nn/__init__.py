"""Torch building blocks for tokenizers and heads, shared by the built-in plugins and open to
third-party ones (see docs/building-blocks.md). Importing this package imports torch."""

from metaframe.nn.patch_embed import PatchEmbed2d
from metaframe.nn.pos_embed import resize_pos_embed
from metaframe.nn.projection import PatchProjection
from metaframe.nn.projection import load_patch_projection
from metaframe.nn.projection import sum_input_channels

__all__ = [
    "PatchEmbed2d",
    "PatchProjection",
    "load_patch_projection",
    "resize_pos_embed",
    "sum_input_channels",
]
