"""Two small example clips for the conformance kit and the docs: different lengths, rates and channels."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_examples(directory: Path) -> list[Path]:
    import soundfile as sf

    rng = np.random.default_rng(0)
    directory.mkdir(parents=True, exist_ok=True)
    # 0.5 s stereo at 22.05 kHz (exercises mix-down and resampling) and 0.8 s mono FLAC at 16 kHz
    t = np.arange(int(0.5 * 22050)) / 22050
    left = 0.4 * np.sin(2 * np.pi * 440 * t)
    right = 0.3 * np.sin(2 * np.pi * 660 * t) + 0.01 * rng.standard_normal(t.shape)
    first = directory / "example_0.wav"
    sf.write(first, np.stack([left, right], axis=1).astype(np.float32), 22050, subtype="PCM_16")
    t = np.arange(int(0.8 * 16000)) / 16000
    chirp = 0.5 * np.sin(2 * np.pi * (200 * t + 1500 * t**2))
    second = directory / "example_1.flac"
    sf.write(second, chirp.astype(np.float32), 16000, subtype="PCM_16")
    return [first, second]
