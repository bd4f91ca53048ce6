"""Decoding only the frames asked for, from any container FFmpeg reads (through PyAV).

How: one demux pass (packets only, no decoding) lists every frame's timestamp and the
keyframes, which gives the exact frame count even where the container's header has none
(WebM, MKV). Each wanted frame is then reached by seeking to the keyframe before it and
decoding forward; a seek is skipped when decoding on from where we are is shorter. When
timestamps are missing or a seek does not land where it should, the clip is decoded in order
from the start up to the last wanted frame (correct, slower).
"""

from __future__ import annotations

import bisect
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from metaframe.ops import require_file
from metaframe_registry import ReadError

# A seek flushes the decoder and restarts at a keyframe; below this many skipped frames,
# decoding on is as fast (measured in benchmarks/bench_video.py on 320x240 H.264).
SEEK_MIN_SKIP = 8


@dataclass
class FrameIndex:
    """What the demux pass found: frame count, presentation timestamps in order, keyframes."""

    count: int
    pts: list[int]
    keyframes: list[int]
    has_timestamps: bool


@dataclass
class DecodedFrames:
    """Frames by index (``[H, W, 3]`` uint8), the clip's frame count and the work it took."""

    frames: dict[int, np.ndarray]
    total: int
    decoded: int = 0  # frames the decoder produced (the cost), for tests and benchmarks
    seeks: int = 0


def _reason(exc: Exception) -> str:
    """FFmpeg's own words without the repeated file name."""
    return str(getattr(exc, "strerror", None) or exc)


def _open(path: Path) -> Any:
    import av

    require_file(path, what="a video file")  # decode_video_frames is public: called outside Modality.read too
    try:
        container = av.open(str(path), "r")
    except av.error.FFmpegError as exc:
        raise ReadError(
            path, f"not a video container FFmpeg can read, or truncated/corrupt ({_reason(exc)})"
        ) from exc
    if not container.streams.video:
        container.close()
        raise ReadError(path, "holds no video stream (audio only or data)")
    return container


def index_frames(container: Any, stream: Any, path: Path) -> FrameIndex:
    """Count the frames and list their timestamps in one demux pass (nothing is decoded)."""
    import av

    count = 0
    pts: list[int] = []
    keyframes: list[int] = []
    end = None  # where the last frame ends, in stream time base
    try:
        for packet in container.demux(stream):
            if packet.size == 0 or packet.is_discard:  # the flush packet; frames an edit list drops
                continue
            if packet.is_corrupt:
                raise ReadError(path, f"corrupt or truncated video data (damaged packet after frame {count})")
            count += 1
            stamp = packet.pts if packet.pts is not None else packet.dts
            if stamp is not None:
                pts.append(int(stamp))
                if packet.duration:
                    end = max(end or 0, int(stamp) + int(packet.duration))
                if packet.is_keyframe:
                    keyframes.append(int(stamp))
    except av.error.FFmpegError as exc:
        raise ReadError(path, f"corrupt or truncated video data after {count} frames ({_reason(exc)})") from exc
    ok = len(pts) == count and len(set(pts)) == count and bool(keyframes)
    if ok and end is not None and count:
        _check_complete(container, stream, path, count, (end - min(pts)) * float(stream.time_base))
    return FrameIndex(count, sorted(pts), sorted(keyframes), ok)


def _check_complete(container: Any, stream: Any, path: Path, count: int, covered: float) -> None:
    """A file cut short (WebM / MKV keep their duration in the header): declared vs present."""
    if stream.duration:
        declared = stream.duration * float(stream.time_base)
    elif container.duration and len(container.streams) == 1:  # the header's span is this stream's
        declared = container.duration / 1_000_000
    else:
        return
    frame = covered / count
    if declared - covered > 1.5 * frame + 1e-3:
        raise ReadError(
            path,
            f"truncated or damaged: the header declares {declared:.2f} s of video, the frames present cover "
            f"{covered:.2f} s ({count} frames)",
        )


def _rgb(frame: Any) -> np.ndarray:
    return frame.to_ndarray(format="rgb24")


def _decode_sequential(container: Any, stream: Any, wanted: set[int], path: Path) -> DecodedFrames:
    """Decode from the start, keeping the wanted frames by their position in presentation order."""
    import av

    out = DecodedFrames({}, 0)
    last = max(wanted)
    try:  # a seek on random bytes can fail too (PermissionError from PyAV: EPERM)
        container.seek(0, stream=stream, backward=True, any_frame=False)
        for i, frame in enumerate(container.decode(stream)):
            out.decoded += 1
            out.total = i + 1
            if i in wanted:
                out.frames[i] = _rgb(frame)
            if i >= last:
                break
    except av.error.FFmpegError as exc:
        raise ReadError(path, f"corrupt or truncated video data after {out.total} decoded frames ({_reason(exc)})") from exc
    return out


def _decode_seeking(container: Any, stream: Any, index: FrameIndex, targets: list[int]) -> DecodedFrames | None:
    """Seek to the keyframe before each wanted frame unless decoding on is shorter; None = give up."""
    import av

    out = DecodedFrames({}, index.count)
    position = {stamp: i for i, stamp in enumerate(index.pts)}
    wanted = set(targets)
    frames = None  # the live decode generator
    current = -1  # pts of the last decoded frame
    for i in sorted(wanted):
        if i in out.frames:
            continue
        target = index.pts[i]
        k = bisect.bisect_right(index.keyframes, target) - 1
        keyframe = index.keyframes[k] if k >= 0 else index.pts[0]
        skipped = position[keyframe] - position.get(current, -1)  # frames a seek would save
        if frames is None or target <= current or (keyframe > current and skipped > SEEK_MIN_SKIP):
            try:
                container.seek(keyframe, stream=stream, backward=True, any_frame=False)
            except av.error.FFmpegError:
                return None  # the sequential decode names the problem
            frames = container.decode(stream)
            out.seeks += 1
            current = -1
            first = True
        else:
            first = False
        try:
            for frame in frames:
                out.decoded += 1
                if frame.pts is None:
                    return None
                if first and frame.pts > target:  # the seek landed past the frame we want
                    return None
                first = False
                current = frame.pts
                j = position.get(frame.pts)
                if j in wanted and j not in out.frames:
                    out.frames[j] = _rgb(frame)
                if frame.pts >= target:
                    break
        except av.error.FFmpegError:
            return None
        if i not in out.frames:
            return None
    return out


def decode_video_frames(
    path: str | os.PathLike[str], indices_for: Callable[[int], Sequence[int]], seek: bool = True
) -> tuple[list[np.ndarray], DecodedFrames]:
    """Decode the frames ``indices_for(total)`` names, as ``[H, W, 3]`` uint8 arrays in that order.

    ``indices_for`` gets the clip's frame count and returns the indices wanted (repeats allowed).
    ``seek=False`` decodes in order from the start (the slow reference, for benchmarks).
    """
    import av

    p = Path(path)
    container = _open(p)
    try:
        return _decode(container, p, indices_for, seek)
    except av.error.FFmpegError as exc:  # any FFmpeg failure the steps above do not word themselves
        raise ReadError(p, f"not a video FFmpeg can decode, or truncated/corrupt ({_reason(exc)})") from exc
    finally:
        container.close()


def _decode(
    container: Any, p: Path, indices_for: Callable[[int], Sequence[int]], seek: bool
) -> tuple[list[np.ndarray], DecodedFrames]:
    """Index, then decode by seeking (or in order when timestamps cannot be trusted)."""
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    index = index_frames(container, stream, p)
    if index.count == 0:
        raise ReadError(p, "holds no decodable video frames (the video stream is empty)")
    indices = [int(i) for i in indices_for(index.count)]
    result = None
    if seek and index.has_timestamps:
        result = _decode_seeking(container, stream, index, indices)
    if result is None:
        result = _decode_sequential(container, stream, set(indices), p)
        result.total = index.count
    missing = [i for i in indices if i not in result.frames]
    if missing:
        raise ReadError(
            p,
            f"corrupt or truncated: frame {missing[0]} of the {index.count} the container lists could not be "
            f"decoded ({result.decoded} frames decoded)",
        )
    return [result.frames[i] for i in indices], result


def frame_files(folder: Path, extensions: Sequence[str]) -> list[Path]:
    """Image files of a frame folder in natural order (frame_2 before frame_10)."""
    import re

    def key(p: Path) -> list[Any]:
        return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", p.name)]

    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in extensions]
    return sorted(files, key=key)
