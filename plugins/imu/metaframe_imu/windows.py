"""Windows of fixed duration with overlap, and the manifest's ``dataset`` over one recording.

A window of ``window_seconds`` holds ``round(window_seconds * rate)`` steps; consecutive
windows start ``round(size * (1 - overlap))`` steps apart (UCI-HAR: 2.56 s at 50 Hz = 128
steps, 50 % overlap). With ``label_column``, each step takes the label of the last table row
at or before it, and a window's target is its most frequent label (an index into
``label_names``, sorted); without labels the target is None.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from metaframe.ops import load_npy
from metaframe_registry import ReadError

from .reader import read_recording
from .sample import IMUSample
from .units import remove_gravity


def window_size(window_seconds: float, overlap: float, rate: float) -> tuple[int, int]:
    """(steps per window, steps between window starts)."""
    if not window_seconds > 0:
        raise ValueError(f"window_seconds must be > 0, got {window_seconds}")
    if not 0.0 <= overlap < 1.0:
        raise ValueError(f"overlap must be in [0, 1), got {overlap}")
    size = int(round(window_seconds * rate))
    if size < 1:
        raise ValueError(f"window_seconds={window_seconds} at {rate:g} Hz is less than one step")
    return size, max(1, int(round(size * (1.0 - overlap))))


def _crop(sample: IMUSample, start: int, size: int, gravity: str) -> IMUSample:
    values = sample.values[:, start : start + size]
    if gravity == "mean":
        acc = [i for i, g in enumerate(sample.groups) if g == "acc"]
        values = values.clone()
        values[acc] = torch.from_numpy(remove_gravity(values[acc].numpy(), "mean", sample.rate, 0.0, sample.source))
    return IMUSample(
        values=values,
        rate=sample.rate,
        channels=sample.channels,
        present=sample.present,
        groups=sample.groups,
        source=f"{sample.source}[{start}:{start + size}]" if sample.source else None,
    )


def sliding_windows(sample: IMUSample, window_seconds: float = 2.56, overlap: float = 0.5, gravity: str = "keep") -> list[IMUSample]:
    """Cut one recording into windows (``gravity="mean"`` subtracts each window's accelerometer mean)."""
    size, step = window_size(window_seconds, overlap, sample.rate)
    if sample.length < size:
        raise ReadError(
            sample.source or "<recording>",
            f"recording of {sample.duration:.3g} s ({sample.length} steps at {sample.rate:g} Hz) is shorter than "
            f"one window of {window_seconds} s ({size} steps)",
        )
    return [_crop(sample, start, size, gravity) for start in range(0, sample.length - size + 1, step)]


class IMUWindows(Sequence[tuple[IMUSample, Any]]):
    """``(window, target)`` pairs; ``label_names`` lists the class names targets index into."""

    def __init__(self, windows: list[IMUSample], targets: list[Any], label_names: list[str] | None = None) -> None:
        self.windows, self.targets, self.label_names = windows, targets, label_names

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return self.windows[index], self.targets[index]


def _window_labels(labels: np.ndarray, size: int, step: int, count: int, names: list[str]) -> list[int]:
    index = {name: i for i, name in enumerate(names)}
    out = []
    for w in range(count):
        counts = Counter(labels[w * step : w * step + size])
        best = max(counts.values())
        out.append(min(index[label] for label, n in counts.items() if n == best))  # ties: first in label_names
    return out


def dataset(
    path: str | Path,
    window_seconds: float = 2.56,
    overlap: float = 0.5,
    label_column: str | None = None,
    labels: Sequence[Any] | str | Path | None = None,
    gravity: str = "keep",
    **reader_options: Any,
) -> IMUWindows:
    """Windows of one recording (CSV / Parquet / ``.npy`` ``[C, T]``), or the windows of a ``.npy`` ``[N, C, T]``
    (targets from ``labels``: a sequence or a ``.npy`` of N labels)."""
    if str(path).lower().endswith(".npy"):
        array = load_npy(path)
        if array.ndim == 3:
            from .reader import read_imu

            windows = [read_imu(w, gravity=gravity, **reader_options) for w in array]
            for i, w in enumerate(windows):
                w.source = f"{path}[{i}]"
            if labels is None:
                return IMUWindows(windows, [None] * len(windows))
            values = load_npy(labels) if isinstance(labels, (str, Path)) else np.asarray(labels)
            if len(values) != len(windows):
                raise ReadError(path, f"has {len(windows)} windows but labels has {len(values)} entries")
            names = sorted({str(v) for v in values})
            return IMUWindows(windows, [names.index(str(v)) for v in values], names)
    keep = "keep" if gravity == "mean" else gravity  # "mean" is per window, below
    recording = read_recording(path, gravity=keep, **reader_options)
    windows = sliding_windows(recording.sample, window_seconds, overlap, gravity)
    if label_column is None:
        return IMUWindows(windows, [None] * len(windows))
    if recording.table is None:
        raise ReadError(path, "label_column needs a table (CSV / Parquet); for .npy windows pass labels=...")
    if label_column not in recording.table.columns:
        raise ReadError(path, f"missing label column {label_column!r}; the file has: {', '.join(map(str, recording.table.columns))}")
    raw = recording.table[label_column]
    if raw.isna().any():
        raise ReadError(path, f"label column {label_column!r} has a missing label at row {int(np.flatnonzero(raw.isna())[0])}")
    raw_labels = raw.astype(str).to_numpy()
    steps = recording.sample.length
    if recording.times is None:
        per_step = raw_labels[:steps]
    else:
        grid = np.arange(steps) / recording.sample.rate
        per_step = raw_labels[np.clip(np.searchsorted(recording.times, grid + 1e-9, side="right") - 1, 0, None)]
    names = sorted(set(per_step))
    size, step = window_size(window_seconds, overlap, recording.sample.rate)
    return IMUWindows(windows, _window_labels(per_step, size, step, len(windows), names), names)
