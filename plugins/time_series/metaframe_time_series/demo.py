"""The time-series task of ``metaframe demo``: generated waveforms, one class per wave shape."""

from __future__ import annotations

from typing import Any

from metaframe.demo import DemoTask


def _waveforms(quick: bool) -> tuple[list[Any], list[Any]]:
    """Sine, square and sawtooth waves of random frequency, phase, amplitude and noise."""
    import numpy as np

    rng = np.random.default_rng(0)
    n = 240 if quick else 900
    t = np.arange(64, dtype=np.float32)
    sources, labels = [], []
    for i in range(n):
        kind = i % 3
        freq, phase = rng.uniform(1.5, 4.0) / 64, rng.uniform(0, 2 * np.pi)
        x = 2 * np.pi * freq * t + phase
        wave = [np.sin(x), np.sign(np.sin(x)), 2 * ((x / (2 * np.pi)) % 1.0) - 1][kind]
        series = rng.uniform(0.5, 3.0) * wave + rng.normal(0, 0.3, size=t.shape) + rng.normal(0, 1)
        sources.append(series.astype(np.float32)[:, None])  # [T, 1]
        labels.append(["sine", "square", "sawtooth"][kind])
    return sources, labels


def task() -> DemoTask:
    return DemoTask(
        modality="time_series",
        description="generated waveforms (sine / square / sawtooth)",
        load=_waveforms,
        tokenizer={"mode": "patch", "in_channels": 1, "patch_len": 8, "stride": 8},
    )
