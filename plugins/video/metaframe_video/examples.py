"""Small example clips for the conformance kit and the docs: an MP4 and a frame folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_mp4(path: Path, frames: np.ndarray, fps: int = 10, codec: str = "libx264", gop: int | None = None) -> Path:
    """Encode ``[T, H, W, 3]`` uint8 frames (even H and W for yuv420p) with PyAV."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.height, stream.width = frames.shape[1], frames.shape[2]
        stream.pix_fmt = "yuv420p"
        if gop is not None:
            stream.codec_context.gop_size = gop
        for array in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(array), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_examples(directory: Path) -> list[Path]:
    """A 6-frame 40x48 MP4 and a 3-frame 32x32 PNG folder (shorter than 4: padded by repetition)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    clip = rng.integers(0, 256, size=(6, 40, 48, 3), dtype=np.uint8)
    mp4 = write_mp4(directory / "example_0.mp4", clip)
    folder = directory / "example_1_frames"
    folder.mkdir(exist_ok=True)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8)).save(folder / f"frame_{i}.png")
    return [mp4, folder]
