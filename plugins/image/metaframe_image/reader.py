"""Reading images into float tensors ``[C, H, W]`` without losing dynamic range.

8-bit data is scaled to [0, 1] by 255, 16-bit by 65535, float data is kept as is; resizing
happens in float (torch, antialiased), so 16-bit radiometric images are never truncated.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from metaframe_registry import ReadError

STATS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    "clip": ((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)),
}


def scale_to_unit(array: np.ndarray) -> np.ndarray:
    """Integers → float32 divided by their type's maximum (uint8 by 255, uint16 by 65535; bool → 0/1);
    floats kept as float32. Shared by every image-like plugin, so bit depth is handled one way."""
    if array.dtype == bool:
        return array.astype(np.float32)
    if np.issubdtype(array.dtype, np.integer):
        return array.astype(np.float32) / float(np.iinfo(array.dtype).max)
    return array.astype(np.float32)


def load_image_array(path: str | os.PathLike[str]) -> np.ndarray:
    """Decode an image file to float32 ``[H, W, C]`` (scaled by its bit depth)."""
    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    if not p.exists():
        raise ReadError(path, "file not found")
    if p.stat().st_size == 0:
        raise ReadError(path, "file is empty (0 bytes)")
    try:
        with Image.open(p) as img:
            img.load()
            mode = img.mode
            if mode in ("P", "PA"):
                img = img.convert("RGBA" if "transparency" in img.info or mode == "PA" else "RGB")
            elif mode == "CMYK" or mode == "YCbCr":
                img = img.convert("RGB")
            elif mode == "1":
                img = img.convert("L")
            array = np.array(img)
    except UnidentifiedImageError as exc:
        raise ReadError(path, "not an image Pillow can identify (expected PNG, JPEG, BMP, TIFF or WebP)") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ReadError(path, f"truncated or corrupt image ({exc})") from exc
    if mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        array = array.astype(np.float32) / 65535.0
    elif mode == "I":  # 32-bit integer: Pillow also uses this for 16-bit PNGs
        array = array.astype(np.float32) / (65535.0 if array.max(initial=0) <= 65535 else float(np.iinfo(np.int32).max))
    else:
        array = scale_to_unit(array)
    if array.ndim == 2:
        array = array[:, :, None]
    return array


def to_chw_tensor(source: Any) -> torch.Tensor:
    """A file path, a numpy array ``[H, W]`` / ``[H, W, C]`` or a tensor ``[C, H, W]`` → float ``[C, H, W]``."""
    if isinstance(source, (str, os.PathLike)):
        return torch.from_numpy(np.ascontiguousarray(load_image_array(source))).permute(2, 0, 1)
    if isinstance(source, torch.Tensor):
        t = source.detach()
        if t.dim() == 2:
            t = t[None]
        if t.dim() != 3:
            raise ReadError(source, f"expected a tensor [C, H, W] or [H, W], got {t.dim()} dimensions")
        return t.float() if t.is_floating_point() else torch.from_numpy(scale_to_unit(t.numpy()))
    if hasattr(source, "__array__") and not hasattr(source, "mode"):
        array = np.asarray(source)
        if array.ndim == 2:
            array = array[:, :, None]
        if array.ndim != 3:
            raise ReadError(source, f"expected an array [H, W] or [H, W, C], got {array.ndim} dimensions")
        return torch.from_numpy(np.ascontiguousarray(scale_to_unit(array))).permute(2, 0, 1)
    if hasattr(source, "mode") and hasattr(source, "size"):  # a PIL image
        array = scale_to_unit(np.array(source))
        if array.ndim == 2:
            array = array[:, :, None]
        return torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1)
    raise ReadError(source, "expected an image path, a numpy array, a torch tensor or a PIL image")


def set_channels(image: torch.Tensor, channels: int | None, source: Any = None) -> torch.Tensor:
    """Keep, replicate (gray → RGB), drop alpha or take luminance (RGB → gray)."""
    c = image.shape[0]
    if channels is None or channels == c:
        return image
    if c in (2, 4) and channels == c - 1:  # drop alpha
        return image[:channels]
    if c == 4 and channels == 1:
        image, c = image[:3], 3
    if c == 2 and channels == 3:
        image, c = image[:1], 1
    if c == 1 and channels == 3:
        return image.expand(3, -1, -1).clone()
    if c == 3 and channels == 1:
        weights = torch.tensor([0.299, 0.587, 0.114], dtype=image.dtype).view(3, 1, 1)
        return (image * weights).sum(0, keepdim=True)
    raise ReadError(source if source is not None else image, f"has {c} channels, cannot convert to {channels}")


def resize(image: torch.Tensor, size: int | Sequence[int] | None) -> torch.Tensor:
    """Antialiased bilinear resize in float (no 8-bit round trip)."""
    if size is None:
        return image
    hw = (int(size), int(size)) if isinstance(size, (int, np.integer)) else (int(size[0]), int(size[1]))
    if tuple(image.shape[-2:]) == hw:
        return image
    return F.interpolate(image[None], size=hw, mode="bilinear", antialias=True, align_corners=False)[0]


def apply_normalization(image: torch.Tensor, how: str | dict[str, Sequence[float]] | None, source: Any = None) -> torch.Tensor:
    """Channel-wise ``(x - mean) / std``: named statistics, explicit ones, or per-image ('per_image')."""
    if how is None or how == "none":
        return image
    if how == "per_image":
        dims = (1, 2)
        return (image - image.mean(dims, keepdim=True)) / image.std(dims, keepdim=True).clamp_min(1e-6)
    if isinstance(how, str):
        if how not in STATS:
            raise ValueError(f"normalize={how!r}: expected one of {', '.join([*STATS, 'per_image', 'none'])} or a mean/std dict")
        mean, std = STATS[how]
    else:
        mean, std = tuple(how["mean"]), tuple(how["std"])
    c = image.shape[0]
    if len(mean) != c:
        if len(mean) == 3 and c == 1:  # gray image with RGB statistics: use their average
            mean, std = (sum(mean) / 3,), (sum(std) / 3,)
        else:
            raise ReadError(source if source is not None else image, f"has {c} channels but the statistics have {len(mean)}")
    m = torch.tensor(mean, dtype=image.dtype).view(-1, 1, 1)
    s = torch.tensor(std, dtype=image.dtype).view(-1, 1, 1)
    return (image - m) / s


def read_image(
    source: Any,
    size: int | Sequence[int] | None = 224,
    normalize: str | dict[str, Sequence[float]] | None = "imagenet",
    channels: int | None = 3,
) -> torch.Tensor:
    """One image as float ``[C, H, W]``: decoded, channels set, resized, normalised."""
    image = to_chw_tensor(source)
    if image.numel() == 0:
        raise ReadError(source, "image has no pixels")
    image = set_channels(image, channels, source)
    image = resize(image, size)
    return apply_normalization(image, normalize, source)
