"""Training augmentations on batched images: random resized crop, horizontal flip, RandAugment.

Tokenizer option ``augment`` (``modalities.image.tokenizer.augment``), applied by the tokenizer
only in training mode, one random draw per image, with ``torchvision.transforms.v2``::

    augment: {random_resized_crop: {scale: [0.08, 1.0]}, hflip: 0.5, randaugment: {num_ops: 2, magnitude: 9}}

The reader has already normalised the images (ImageNet mean / std by default) and RandAugment's
colour operations expect values in [0, 1]; so RandAugment sees each image min-max scaled to
[0, 1] and its result is mapped back with the same scale (crop and flip do not care).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from metaframe_registry import ConfigError

KEYS = ("random_resized_crop", "hflip", "randaugment")


@dataclass(frozen=True)
class ImageAugment:
    crop_scale: tuple[float, float] | None = None  # RandomResizedCrop area share, e.g. (0.08, 1.0)
    crop_ratio: tuple[float, float] = (3 / 4, 4 / 3)
    hflip: float = 0.0  # chance of a horizontal flip
    randaugment: dict[str, Any] | None = None  # torchvision RandAugment options (num_ops, magnitude, ...)

    @classmethod
    def from_option(cls, option: dict[str, Any]) -> "ImageAugment":
        unknown = sorted(set(option) - set(KEYS))
        if unknown:
            raise ConfigError(f"augment: unknown option(s) {', '.join(unknown)}; expected {', '.join(KEYS)}")
        crop = option.get("random_resized_crop")
        scale = ratio = None
        if crop is True:
            crop = {}
        if isinstance(crop, dict):
            scale = tuple(float(v) for v in crop.get("scale", (0.08, 1.0)))
            ratio = tuple(float(v) for v in crop.get("ratio", (3 / 4, 4 / 3)))
            if len(scale) != 2 or not 0 < scale[0] <= scale[1] <= 1 or len(ratio) != 2 or not 0 < ratio[0] <= ratio[1]:
                raise ConfigError(f"augment.random_resized_crop: {crop} — expected scale [lo, hi] in (0, 1] and ratio [lo, hi] > 0")
        elif crop not in (None, False):
            raise ConfigError(f"augment.random_resized_crop: {crop!r} — expected a mapping {{scale: [lo, hi]}} or true")
        hflip = option.get("hflip", 0.0)
        hflip = 0.5 if hflip is True else float(hflip or 0.0)
        if not 0 <= hflip <= 1:
            raise ConfigError(f"augment.hflip: {hflip} — expected a probability in [0, 1]")
        ra = option.get("randaugment")
        ra = {} if ra is True else (ra or None)
        if ra is not None and not isinstance(ra, dict):
            raise ConfigError(f"augment.randaugment: {ra!r} — expected a mapping {{num_ops: 2, magnitude: 9}} or true")
        out = cls(scale, ratio or (3 / 4, 4 / 3), hflip, ra)  # type: ignore[arg-type]
        out.transforms()  # torchvision present and the options accepted: fail when the tokenizer is built
        return out

    def transforms(self) -> Any:
        """The per-image torchvision pipeline (``None`` when nothing is configured)."""
        try:
            from torchvision.transforms import v2
        except ImportError:
            raise ConfigError("augment: image augmentations need torchvision (pip install torchvision)") from None
        steps: list[Any] = []
        if self.crop_scale is not None:
            steps.append(("crop", self.crop_scale, self.crop_ratio))
        if self.hflip:
            steps.append(v2.RandomHorizontalFlip(self.hflip))
        ra = None
        if self.randaugment is not None:
            try:
                ra = v2.RandAugment(**self.randaugment)
            except TypeError as exc:
                raise ConfigError(f"augment.randaugment: {self.randaugment} — {exc}") from None
        return steps, ra

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """A new ``[B, C, H, W]`` batch, each image transformed with its own random draw."""
        from torchvision.transforms import v2

        steps, ra = self.transforms()
        size = list(images.shape[-2:])
        out = []
        for image in images:
            for step in steps:
                if isinstance(step, tuple):
                    _, scale, ratio = step
                    image = v2.RandomResizedCrop(size, scale=scale, ratio=ratio, antialias=True)(image)
                else:
                    image = step(image)
            if ra is not None:
                image = _randaugment(ra, image)
            out.append(image)
        return torch.stack(out)


def _randaugment(ra: Any, image: torch.Tensor) -> torch.Tensor:
    """RandAugment on one normalised image: scaled to [0, 1] per image, transformed, scaled back."""
    lo, hi = image.amin(), image.amax()
    span = (hi - lo).clamp_min(1e-6)
    unit = ((image - lo) / span).clamp(0, 1)
    return ra(unit.float()).to(image.dtype) * span + lo
