"""Which frames of a clip to read: uniform over the whole clip, or strided from a start.

- ``uniform``: ``num_frames`` indices, the centre of each of ``num_frames`` equal segments
  (TSN-style, deterministic). A clip shorter than ``num_frames`` repeats frames in order.
- ``strided``: ``start, start + r, start + 2r, ...`` with ``r = sampling_rate``; indices past
  the last frame repeat the last frame (short clips are padded by repetition).
"""

from __future__ import annotations

from typing import Literal

Sampling = Literal["uniform", "strided"]
DEFAULT_STRIDE = 4  # VideoMAE's Kinetics setting (16 frames, every 4th)


def resolve_sampling(sampling: str | None, sampling_rate: int | None) -> tuple[str, int | None]:
    """Settle the options: a ``sampling_rate`` alone means strided; uniform takes no rate."""
    if sampling is None:
        sampling = "strided" if sampling_rate is not None else "uniform"
    if sampling not in ("uniform", "strided"):
        raise ValueError(f"sampling={sampling!r}: expected 'uniform' or 'strided'")
    if sampling == "uniform":
        if sampling_rate is not None:
            raise ValueError(
                f"sampling_rate={sampling_rate} applies to sampling='strided'; uniform sampling spreads "
                "num_frames over the whole clip (drop sampling_rate, or set sampling='strided')"
            )
        return sampling, None
    rate = DEFAULT_STRIDE if sampling_rate is None else sampling_rate
    if isinstance(rate, bool) or not isinstance(rate, int) or rate < 1:
        raise ValueError(f"sampling_rate={sampling_rate!r}: expected a positive int (take every n-th frame)")
    return sampling, rate


def frame_indices(
    total: int, num_frames: int, sampling: str | None = None, sampling_rate: int | None = None, start: int = 0
) -> list[int]:
    """Indices (into ``total`` frames, in presentation order) of the frames to return."""
    if isinstance(num_frames, bool) or not isinstance(num_frames, int) or num_frames < 1:
        raise ValueError(f"num_frames={num_frames!r}: expected a positive int")
    if total < 1:
        raise ValueError("a clip without frames has nothing to sample")
    mode, rate = resolve_sampling(sampling, sampling_rate)
    if mode == "uniform":
        if start:
            raise ValueError(f"start={start} applies to sampling='strided'; uniform sampling covers the whole clip")
        return [min(total - 1, ((2 * i + 1) * total) // (2 * num_frames)) for i in range(num_frames)]
    if isinstance(start, bool) or not isinstance(start, int) or start < 0:
        raise ValueError(f"start={start!r}: expected a frame index >= 0")
    if start >= total:
        raise ValueError(f"start={start} is past the clip's last frame (it has {total} frames)")
    assert rate is not None
    return [min(total - 1, start + i * rate) for i in range(num_frames)]
