"""From a decoded image to a model-ready float tensor ``[C, H, W]``: channels, size, statistics.

torch is imported when a function runs, not when ``metaframe.ops`` is imported.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Mapping, Sequence, Union

import numpy as np

from metaframe_registry import ReadError

from metaframe.ops.bit_depth import scale_to_unit
from metaframe.ops.image_files import load_image_array

if TYPE_CHECKING:
    import torch

Normalization = Union[str, Mapping[str, Sequence[float]], None]

NORMALIZATION_STATS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    "clip": ((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)),
}


def _hwc_to_chw(array: np.ndarray) -> "torch.Tensor":
    import torch

    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1)


def to_chw_tensor(source: Any, tiff: str = "pillow") -> "torch.Tensor":
    """A file path, a numpy array ``[H, W]`` / ``[H, W, C]``, a tensor ``[C, H, W]`` / ``[H, W]`` or a
    PIL image → float ``[C, H, W]``, integers scaled by bit depth. ``tiff``: see ``load_image_array``."""
    import torch

    if isinstance(source, (str, os.PathLike)):
        return _hwc_to_chw(load_image_array(source, tiff=tiff))
    if isinstance(source, torch.Tensor):
        t = source.detach()
        if t.dim() == 2:
            t = t[None]
        if t.dim() != 3:
            raise ReadError(source, f"expected a tensor [C, H, W] or [H, W], got {t.dim()} dimensions")
        return t.float() if t.is_floating_point() else torch.from_numpy(scale_to_unit(t.cpu().numpy()))
    if hasattr(source, "mode") and hasattr(source, "size"):  # a PIL image
        return _hwc_to_chw(scale_to_unit(np.array(source)))
    if hasattr(source, "__array__"):
        array = np.asarray(source)
        if array.ndim not in (2, 3):
            raise ReadError(source, f"expected an array [H, W] or [H, W, C], got {array.ndim} dimensions")
        return _hwc_to_chw(scale_to_unit(array))
    raise ReadError(source, "expected an image path, a numpy array, a torch tensor or a PIL image")


def set_channels(image: "torch.Tensor", channels: int | None, source: Any = None) -> "torch.Tensor":
    """Keep, replicate (gray → RGB), drop alpha, or take luminance (RGB → gray, ITU-R 601 weights).

    ``image`` is ``[C, ...]``; ``channels=None`` keeps it. Other conversions are a ``ReadError``.
    """
    import torch

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
        return image.expand(3, *image.shape[1:]).clone()
    if c == 3 and channels == 1:
        weights = torch.tensor([0.299, 0.587, 0.114], dtype=image.dtype, device=image.device)
        return (image * weights.view(3, *([1] * (image.dim() - 1)))).sum(0, keepdim=True)
    raise ReadError(
        source if source is not None else image,
        f"has {c} channels, expected {channels} (only gray, gray + alpha, RGB and RGBA images convert)",
    )


def resize_image(image: "torch.Tensor", size: int | Sequence[int] | None) -> "torch.Tensor":
    """``[C, H, W]`` → ``[C, h, w]``: antialiased bilinear in float (no 8-bit round trip); ``None`` keeps it."""
    import torch.nn.functional as F

    if size is None:
        return image
    hw = (int(size), int(size)) if isinstance(size, (int, np.integer)) else (int(size[0]), int(size[1]))
    if tuple(image.shape[-2:]) == hw:
        return image
    return F.interpolate(image[None], size=hw, mode="bilinear", antialias=True, align_corners=False)[0]


def apply_normalization(image: "torch.Tensor", how: Normalization, source: Any = None) -> "torch.Tensor":
    """Channel-wise ``(x - mean) / std`` on ``[C, ...]``.

    ``how``: a name in ``NORMALIZATION_STATS`` (``imagenet``, ``clip``), ``{"mean": [...], "std": [...]}``,
    ``per_image`` (each channel's own mean and std), or ``none`` / ``None``. RGB statistics on a
    gray image use their average.
    """
    import torch

    if how is None or how == "none":
        return image
    dims = tuple(range(1, image.dim()))
    if how == "per_image":
        return (image - image.mean(dims, keepdim=True)) / image.std(dims, keepdim=True).clamp_min(1e-6)
    if isinstance(how, str):
        if how not in NORMALIZATION_STATS:
            choices = ", ".join([*NORMALIZATION_STATS, "per_image", "none"])
            raise ValueError(f"normalize={how!r}: expected one of {choices} or a mean/std dict")
        mean, std = NORMALIZATION_STATS[how]
    else:
        mean, std = tuple(how["mean"]), tuple(how["std"])
    c = image.shape[0]
    if len(mean) != c:
        if len(mean) == 3 and c == 1:
            mean, std = (sum(mean) / 3,), (sum(std) / 3,)
        else:
            raise ReadError(source if source is not None else image, f"has {c} channels but the statistics have {len(mean)}")
    view = (-1, *([1] * (image.dim() - 1)))
    m = torch.tensor(mean, dtype=image.dtype, device=image.device).view(view)
    s = torch.tensor(std, dtype=image.dtype, device=image.device).view(view)
    return (image - m) / s


def prepare_image(
    image: "torch.Tensor",
    source: Any = None,
    size: int | Sequence[int] | None = None,
    normalize: Normalization = None,
    channels: int | None = None,
) -> "torch.Tensor":
    """The steps after decoding, in one order for every image reader: channels → resize → normalise.

    An image without pixels, or with NaN / infinite pixels (an array or tensor given in memory, a
    float TIFF), is a ``ReadError`` naming ``source``: they would become NaN tokens.
    """
    import torch

    named = source if source is not None else image
    if image.numel() == 0:
        raise ReadError(named, "image has no pixels")
    if image.is_floating_point() and not bool(torch.isfinite(image).all()):
        nan, inf = int(torch.isnan(image).sum()), int(torch.isinf(image).sum())
        first = tuple(int(i) for i in (~torch.isfinite(image)).nonzero()[0])
        raise ReadError(
            named, f"image holds {nan} NaN and {inf} infinite pixel value(s), first at [C, H, W] index {first}"
        )
    image = set_channels(image, channels, source)
    image = resize_image(image, size)
    return apply_normalization(image, normalize, source)
