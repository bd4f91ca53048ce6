"""The audio task of ``metaframe demo``: generated tones, one class per pitch band."""

from __future__ import annotations

from typing import Any

from metaframe.demo import DemoTask


def _tones(quick: bool) -> tuple[list[Any], list[Any]]:
    """0.4 s clips at 16 kHz: a low, middle or high tone of random pitch and level, in noise."""
    import numpy as np

    rng = np.random.default_rng(0)
    n = 150 if quick else 450
    rate = 16000
    t = np.arange(int(0.4 * rate), dtype=np.float32) / rate
    bands = {"low": (200, 450), "middle": (900, 1400), "high": (2800, 4000)}
    sources, labels = [], []
    for i in range(n):
        name = list(bands)[i % 3]
        pitch = rng.uniform(*bands[name])
        wave = rng.uniform(0.1, 0.5) * np.sin(2 * np.pi * pitch * t + rng.uniform(0, 6.28))
        wave = wave + rng.normal(0, 0.05, size=t.shape)
        sources.append((wave.astype(np.float32), rate))  # (array, sample rate): the reader's in-memory form
        labels.append(name)
    return sources, labels


def task() -> DemoTask:
    return DemoTask(
        modality="audio",
        description="generated tones (low / middle / high pitch)",
        load=_tones,
        tokenizer={"num_mel_bins": 32, "target_length": 40, "patch_size": 16, "patch_stride": 16, "freq_mask": 0,
                   "time_mask": 0},
    )
