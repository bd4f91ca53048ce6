"""Small generated clips whose frames carry their own index in their pixel values."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import torch
from PIL import Image

def index_frames(n: int, height: int = 32, width: int = 48) -> np.ndarray:
    """``[n, H, W, 3]`` uint8: top half = 64 · (i // 16), bottom half = 16 · (i % 16)."""
    frames = np.empty((n, height, width, 3), np.uint8)
    for i in range(n):
        frames[i, : height // 2] = 64 * (i // 16)
        frames[i, height // 2 :] = 16 * (i % 16)
    return frames


def frame_ids(clip: torch.Tensor) -> list[int]:
    """Recover the indices from a clip ``[C, T, H, W]`` read with ``normalize='none'``, ``size=None``."""
    h = clip.shape[2]
    top = clip[:, :, 2 : h // 2 - 2].mean(dim=(0, 2, 3)) * 255 / 64
    bottom = clip[:, :, h // 2 + 2 : h - 2].mean(dim=(0, 2, 3)) * 255 / 16
    return [int(round(float(t))) * 16 + int(round(float(b))) for t, b in zip(top, bottom)]


def write_video(path: Path, frames: np.ndarray, codec: str, fps: int = 25, gop: int | None = None) -> Path:
    av = pytest.importorskip("av")
    if codec not in av.codecs_available:
        pytest.skip(f"PyAV wheel has no {codec} encoder")
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.height, stream.width = frames.shape[1], frames.shape[2]
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = 4_000_000
        if gop is not None:
            stream.codec_context.gop_size = gop
        for array in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(array), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture
def make_clip(tmp_path: Path) -> Callable[..., Path]:
    def make(n: int, ext: str = ".mp4", codec: str = "libx264", gop: int | None = None, name: str = "clip") -> Path:
        return write_video(tmp_path / f"{name}{ext}", index_frames(n), codec, gop=gop)

    return make


@pytest.fixture
def video():  # type: ignore[no-untyped-def]
    import metaframe

    return metaframe.get_modality("video")


@pytest.fixture
def ids() -> Callable[[torch.Tensor], list[int]]:
    return frame_ids


@pytest.fixture
def make_frames(tmp_path: Path) -> Callable[..., Path]:
    """A folder of PNG frames ``frame_0.png`` … (unpadded numbers: natural order matters)."""

    def make(n: int, name: str = "frames", height: int = 32, width: int = 48) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        for i, array in enumerate(index_frames(n, height, width)):
            Image.fromarray(array).save(folder / f"frame_{i}.png")
        return folder

    return make


@pytest.fixture
def frames_array() -> Callable[..., np.ndarray]:
    return index_frames
