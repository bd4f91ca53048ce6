"""The image tokenizer: ``metaframe.nn.PatchEmbed2d`` with the image modality's defaults."""

from __future__ import annotations

from metaframe.nn import PatchEmbed2d


class PatchTokenizer(PatchEmbed2d):
    """``Conv2d(C, D, kernel=patch, stride=patch)`` + learned positions resized to any image size.

    ``load_projection_from(other)`` initialises it from another image tokenizer (module, state
    dict or ``.safetensors`` file) of any channel count.
    """

    def __init__(self, embed_dim: int, in_channels: int = 3, patch_size: int = 16, image_size: int = 224) -> None:
        super().__init__(embed_dim, in_channels=in_channels, patch_size=patch_size, image_size=image_size)
