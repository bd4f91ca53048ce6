"""Hostile audio: rates and lengths that would resample to gigabytes are a ReadError naming the source."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

import metaframe
from metaframe_registry import ReadError


@pytest.fixture()
def audio():
    return metaframe.get_modality("audio")


def test_wav_at_1_hz_is_refused_before_resampling(audio, tmp_path):
    path = tmp_path / "slow.wav"
    sf.write(path, np.zeros(4000, dtype=np.float32), 1)  # 4000 s at 1 Hz → 64M samples at 16 kHz
    with pytest.raises(ReadError, match="max_seconds=3600") as info:
        audio.read(path)
    assert str(path) in str(info.value)


def test_tiny_in_memory_rate_is_refused(audio):
    with pytest.raises(ReadError, match="longer than max_seconds"):
        audio.read((np.zeros(10_000, dtype=np.float32), 2))


def test_max_seconds_is_an_option(audio):
    clip = (np.zeros(16_000, dtype=np.float32), 16_000)
    assert audio.read(clip, max_seconds=1.0).num_samples == 16_000
    with pytest.raises(ReadError, match="max_seconds=0.5"):
        audio.read(clip, max_seconds=0.5)
    assert audio.read(clip, max_seconds=None).num_samples == 16_000


def test_declared_length_is_checked_before_decoding(audio):
    buffer = io.BytesIO()
    sf.write(buffer, np.zeros(100, dtype=np.float32), 8000, format="WAV")
    data = bytearray(buffer.getvalue())
    data[24:28] = (1).to_bytes(4, "little")  # header rate → 1 Hz; byte rate left: libsndfile trusts the rate
    with pytest.raises(ReadError):
        audio.read(bytes(data), max_seconds=50.0)


def test_float_samples_far_beyond_full_scale_are_a_read_error(audio, tmp_path):
    path = tmp_path / "loud.wav"
    sf.write(path, np.full(8000, 1e30, dtype=np.float32), 16000, subtype="FLOAT")
    with pytest.raises(ReadError, match=r"loud\.wav: holds a sample of magnitude 1e\+30"):
        audio.read(path)
    assert audio.read((np.full(8000, 2.0, dtype=np.float32), 16000)).num_samples == 8000  # loud, not corrupt
