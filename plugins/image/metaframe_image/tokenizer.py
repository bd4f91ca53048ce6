"""The image tokenizer: ``metaframe.nn.PatchEmbed2d`` with the image modality's defaults."""

from __future__ import annotations

from typing import Any

import torch

from metaframe.nn import PatchEmbed2d
from metaframe.tokens import TokenBatch

from .augment import ImageAugment


class PatchTokenizer(PatchEmbed2d):
    """``Conv2d(C, D, kernel=patch, stride=patch)`` + learned positions resized to any image size.

    ``load_projection_from(other)`` initialises it from another image tokenizer (module, state
    dict or ``.safetensors`` file) of any channel count. ``augment``: training-mode augmentations
    (``random_resized_crop``, ``hflip``, ``randaugment``; metaframe_image.augment), off in eval.
    """

    def __init__(
        self,
        embed_dim: int,
        in_channels: int = 3,
        patch_size: int = 16,
        image_size: int = 224,
        augment: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(embed_dim, in_channels=in_channels, patch_size=patch_size, image_size=image_size)
        self.augment = ImageAugment.from_option(augment) if augment else None

    def forward(self, images: torch.Tensor) -> TokenBatch:
        if self.training and self.augment is not None and isinstance(images, torch.Tensor) and images.dim() == 4:
            images = self.augment(images)
        return super().forward(images)
