"""Resampling quality, measured: a sine resampled 44.1 kHz → 16 kHz keeps its frequency and shape."""

from __future__ import annotations

import numpy as np
import pytest

import metaframe


def _sine(freq: float, rate: int, seconds: float = 1.0) -> np.ndarray:
    return np.sin(2 * np.pi * freq * np.arange(int(rate * seconds)) / rate)


@pytest.mark.parametrize("freq, tolerance", [(440.0, 1e-5), (1000.0, 1e-5), (6000.0, 2e-4)])
def test_sine_44k1_to_16k(freq: float, tolerance: float) -> None:
    audio = metaframe.get_modality("audio")
    clip = audio.read(((0.5 * _sine(freq, 44100)).astype(np.float32), 44100))
    assert clip.sample_rate == 16000 and clip.num_samples == 16000
    out = clip.waveform.numpy().astype(np.float64)
    exact = 0.5 * _sine(freq, 16000)
    inner = slice(400, -400)  # away from the filter's edge transients
    assert np.abs(out[inner] - exact[inner]).max() < tolerance  # 6 kHz: 0.002 dB passband droop
    spectrum = np.abs(np.fft.rfft(out * np.hanning(out.size)))
    assert np.argmax(spectrum) == pytest.approx(freq, abs=1)  # 1 Hz bins for a 1 s clip


def test_content_above_new_nyquist_is_removed() -> None:
    audio = metaframe.get_modality("audio")
    clip = audio.read(((0.5 * _sine(11000.0, 44100)).astype(np.float32), 44100))  # above 8 kHz
    residue = clip.waveform.numpy()[400:-400]
    assert np.abs(residue).max() < 1e-3  # filtered out, not aliased to 5 kHz


def test_quality_option_and_bad_value() -> None:
    audio = metaframe.get_modality("audio")
    source = ((0.5 * _sine(1000.0, 44100)).astype(np.float32), 44100)
    exact = 0.5 * _sine(1000.0, 16000)[400:-400]
    errors = {q: np.abs(audio.read(source, resample_quality=q).waveform.numpy()[400:-400] - exact).max() for q in ("QQ", "VHQ")}
    assert errors["VHQ"] < errors["QQ"]
    with pytest.raises(metaframe.ReadError, match="resample quality 'best'"):
        audio.read(source, resample_quality="best")
