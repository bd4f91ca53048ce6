"""The documented transform from decoded frames to a model-ready clip ``[C, T, H, W]``.

1. scale to float by bit depth (uint8 / 255; float kept) — metaframe_image's rules;
2. set channels (gray → RGB replicate, drop alpha, RGB → luminance) — metaframe_image;
3. resize every frame to ``size`` with antialiased bilinear interpolation in float:
   ``resize_mode="stretch"`` (default) maps the frame onto exactly ``size`` (aspect ratio not
   kept, as the image plugin does); ``"crop"`` scales the frame so it covers ``size`` (aspect
   ratio kept) and takes the centre (the usual video evaluation transform);
4. normalise each channel (``imagenet``, ``clip``, ``none``, ``per_image`` = per clip, or
   ``{"mean": [...], "std": [...]}``) — metaframe_image.

Every clip read with the same ``num_frames`` and ``size`` has the same shape, so batches of
clips of different resolutions or lengths line up by construction.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch
import torch.nn.functional as F

from metaframe_image.reader import apply_normalization, set_channels

from .geometry import pair

RESIZE_MODES = ("stretch", "crop")


def resize_frames(frames: torch.Tensor, size: int | Sequence[int] | None, mode: str = "stretch") -> torch.Tensor:
    """``[T, C, H, W]`` → ``[T, C, h, w]`` by the rule above (``size=None`` keeps the frames)."""
    if mode not in RESIZE_MODES:
        raise ValueError(f"resize_mode={mode!r}: expected one of {', '.join(RESIZE_MODES)}")
    if size is None:
        return frames
    h, w = pair(size, "size")
    if h < 1 or w < 1:
        raise ValueError(f"size={size!r}: expected positive height and width")
    in_h, in_w = frames.shape[-2:]
    if (in_h, in_w) == (h, w):
        return frames
    if mode == "stretch":
        return F.interpolate(frames, size=(h, w), mode="bilinear", antialias=True, align_corners=False)
    scale = max(h / in_h, w / in_w)
    mid = (max(h, math.ceil(in_h * scale - 1e-6)), max(w, math.ceil(in_w * scale - 1e-6)))
    if mid != (in_h, in_w):
        frames = F.interpolate(frames, size=mid, mode="bilinear", antialias=True, align_corners=False)
    top, left = (mid[0] - h) // 2, (mid[1] - w) // 2
    return frames[..., top : top + h, left : left + w]


def to_clip(
    frames: torch.Tensor,
    source: Any,
    size: int | Sequence[int] | None,
    resize_mode: str,
    normalize: str | dict[str, Sequence[float]] | None,
    channels: int | None,
) -> torch.Tensor:
    """Float frames ``[T, C, H, W]`` → clip ``[C, T, H, W]`` (channels, resize, normalise).

    The image helpers see the clip as one tall image ``[C, T·H, W]``: channel rules and
    statistics apply per channel across all frames in one operation (``per_image``
    normalisation is therefore per clip).
    """
    t, c, h, w = frames.shape
    if c not in (1, 2, 3, 4):
        raise_channels(source, c)
    tall = set_channels(frames.permute(1, 0, 2, 3).reshape(c, t * h, w), channels, source)
    c = tall.shape[0]
    frames = resize_frames(tall.reshape(c, t, h, w).permute(1, 0, 2, 3).contiguous(), size, resize_mode)
    h, w = frames.shape[-2:]
    tall = frames.permute(1, 0, 2, 3).reshape(c, t * h, w)
    return apply_normalization(tall, normalize, source).reshape(c, t, h, w).contiguous()


def raise_channels(source: Any, found: int) -> None:
    from metaframe_registry import ReadError

    raise ReadError(
        source,
        f"frames have {found} channels; expected 1 (gray), 2, 3 (RGB) or 4 (RGBA) "
        "(layouts: tensor [C, T, H, W], array [T, H, W, C])",
    )
