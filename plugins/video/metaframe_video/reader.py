"""Reading a clip into a float tensor ``[C, T, H, W]``.

Sources: a video file (MP4, WebM, AVI, MKV, MOV, ... anything FFmpeg decodes, through PyAV),
a folder of frame images (natural order: frame_2 before frame_10), a list of image paths /
arrays / PIL images, a numpy array ``[T, H, W, C]`` or ``[T, H, W]``, or a tensor
``[C, T, H, W]``. Only the sampled frames are decoded (see decode.py and sampling.py); the
transform is described in transform.py.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from metaframe.ops import IMAGE_EXTENSIONS, scale_to_unit, to_chw_tensor
from metaframe_registry import ReadError

from .decode import decode_video_frames, frame_files
from .sampling import frame_indices, resolve_sampling
from .transform import to_clip


def _same_shape(frames: list[torch.Tensor], names: Sequence[Any], source: Any) -> None:
    first = tuple(frames[0].shape)
    for frame, name in zip(frames, names):
        if tuple(frame.shape) != first:
            raise ReadError(
                source,
                f"frame {name} is {tuple(frame.shape)} (channels, height, width), the first sampled frame is {first}; "
                "all frames of a clip must have one size",
            )


def _frames_from_list(items: Sequence[Any], pick: Callable[[int], list[int]], source: Any) -> torch.Tensor:
    if len(items) == 0:
        raise ReadError(source, "holds no frames")
    indices = pick(len(items))
    loaded: dict[int, torch.Tensor] = {}
    for i in sorted(set(indices)):
        item = items[i]
        try:
            loaded[i] = to_chw_tensor(item, tiff="pillow")
        except ReadError as exc:
            if isinstance(item, (str, os.PathLike)):
                raise
            raise ReadError(source, f"frame {i}: {exc.problem}") from exc
    frames = [loaded[i] for i in indices]
    names = [Path(items[i]).name if isinstance(items[i], (str, os.PathLike)) else str(i) for i in indices]
    _same_shape(frames, names, source)
    return torch.stack(frames)


def _frames_from_array(array: Any, pick: Callable[[int], list[int]], source: Any) -> torch.Tensor:
    """numpy ``[T, H, W(, C)]`` or tensor ``[C, T, H, W]`` → float ``[T, C, H, W]`` of the sampled frames."""
    if isinstance(array, torch.Tensor):
        t = array.detach()
        if t.dim() != 4:
            raise ReadError(source, f"expected a tensor [C, T, H, W], got shape {tuple(t.shape)}")
        if t.shape[1] == 0:
            raise ReadError(source, "holds no frames (T = 0)")
        t = t[:, pick(t.shape[1])].permute(1, 0, 2, 3)
        if t.is_floating_point() or t.dtype == torch.uint8:
            return t.cpu()
        return torch.from_numpy(scale_to_unit(t.cpu().numpy()))
    a = np.asarray(array)
    if a.ndim == 3:
        a = a[..., None]
    if a.ndim != 4:
        raise ReadError(source, f"expected an array [T, H, W, C] or [T, H, W], got shape {a.shape}")
    if a.shape[0] == 0:
        raise ReadError(source, "holds no frames (T = 0)")
    a = np.ascontiguousarray(a[pick(a.shape[0])])
    if a.dtype != np.uint8:  # uint8 stays uint8 for the fast resize (transform.py)
        a = scale_to_unit(a)
    return torch.from_numpy(a).permute(0, 3, 1, 2)


def read_video(
    source: Any,
    num_frames: int = 16,
    sampling: str | None = None,
    sampling_rate: int | None = None,
    start: int = 0,
    size: int | Sequence[int] | None = 224,
    resize_mode: str = "stretch",
    normalize: str | dict[str, Sequence[float]] | None = "imagenet",
    channels: int | None = 3,
) -> torch.Tensor:
    """One clip as float ``[C, T, H, W]`` with ``T = num_frames``.

    ``sampling``: ``uniform`` (default; spread over the clip) or ``strided`` (every
    ``sampling_rate``-th frame from ``start``; giving ``sampling_rate`` alone selects it). Short
    clips are padded by repeating frames. ``size``/``resize_mode``/``normalize``/``channels``: see
    transform.py.
    """
    resolve_sampling(sampling, sampling_rate)  # bad options fail before any decoding

    def pick(total: int) -> list[int]:
        return frame_indices(total, num_frames, sampling, sampling_rate, start)

    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            files = frame_files(path, IMAGE_EXTENSIONS)
            if not files:
                raise ReadError(path, f"folder holds no frame images ({', '.join(IMAGE_EXTENSIONS)})")
            frames = _frames_from_list(files, pick, path)
        else:
            decoded, _ = decode_video_frames(path, pick)
            frames = torch.from_numpy(np.stack(decoded)).permute(0, 3, 1, 2)  # uint8 [T, C, H, W]
    elif isinstance(source, (list, tuple)):
        frames = _frames_from_list(source, pick, source)
    elif isinstance(source, torch.Tensor) or hasattr(source, "__array__"):
        frames = _frames_from_array(source, pick, source)
    else:
        raise ReadError(
            source,
            "expected a video file, a folder of frame images, a list of frames, an array [T, H, W, C] "
            f"or a tensor [C, T, H, W]; got {type(source).__name__}",
        )
    if frames.shape[-1] == 0 or frames.shape[-2] == 0:
        raise ReadError(source, "frames have no pixels")
    if frames.is_floating_point() and not bool(torch.isfinite(frames).all()):  # would be NaN tokens
        bad = ~torch.isfinite(frames)
        first = int(bad.flatten(1).any(1).nonzero()[0])
        raise ReadError(
            source,
            f"{int(torch.isnan(frames).sum())} NaN and {int(torch.isinf(frames).sum())} infinite pixel value(s) "
            f"in the sampled frames, the first in sampled frame {first}",
        )
    return to_clip(frames, source, size, resize_mode, normalize, channels)
