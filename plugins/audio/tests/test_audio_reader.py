"""The audio reader, reached through the registry: files, in-memory inputs, mixing, bad input."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import metaframe
from metaframe_audio import AudioBatch, AudioClip
from metaframe_registry import ReadError

SR = 16000


@pytest.fixture
def audio() -> metaframe.Modality:
    return metaframe.get_modality("audio")


def _tone(seconds: float = 0.5, rate: int = SR, freq: float = 440.0, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    tone = 0.5 * np.sin(2 * np.pi * freq * t).astype(np.float32)
    return tone if channels == 1 else np.stack([tone * (c + 1) / channels for c in range(channels)], axis=1)


def test_discovered_through_entry_point(audio) -> None:
    assert audio.manifest.distribution == "metaframe-audio"
    assert {".wav", ".flac", ".ogg"} <= set(audio.manifest.extensions)


@pytest.mark.parametrize(
    "ext, subtype, atol",
    [("wav", "PCM_16", 1e-4), ("wav", "FLOAT", 0.0), ("flac", "PCM_24", 1e-6), ("ogg", "VORBIS", 0.05)],
)
def test_reads_formats(audio, tmp_path: Path, ext: str, subtype: str, atol: float) -> None:
    tone = _tone()
    path = tmp_path / f"clip.{ext}"
    sf.write(path, tone, SR, subtype=subtype)
    clip = audio.read(path)
    assert isinstance(clip, AudioClip) and clip.sample_rate == SR
    assert clip.waveform.dtype == torch.float32 and clip.waveform.dim() == 1
    if ext == "ogg":  # lossy: same length (Vorbis may pad a little), same loudness
        assert abs(clip.num_samples - tone.size) < 2048
        assert abs(clip.waveform.std().item() - tone.std()) < atol
    else:
        assert clip.num_samples == tone.size
        assert np.abs(clip.waveform.numpy() - tone).max() <= atol


def test_stereo_is_mixed_down_or_one_channel_picked(audio, tmp_path: Path) -> None:
    stereo = _tone(channels=2)  # right = 2 × left
    path = tmp_path / "stereo.wav"
    sf.write(path, stereo, SR, subtype="FLOAT")
    mixed = audio.read(path)
    assert torch.allclose(mixed.waveform, torch.from_numpy(stereo.mean(axis=1)), atol=1e-6)
    right = audio.read(path, channel=1)
    assert torch.allclose(right.waveform, torch.from_numpy(stereo[:, 1]))
    with pytest.raises(ReadError, match=r"stereo.wav: channel 2 requested but the audio has 2 channel"):
        audio.read(path, channel=2)


def test_resamples_to_model_rate_or_keeps_native(audio, tmp_path: Path) -> None:
    path = tmp_path / "cd.wav"
    sf.write(path, _tone(1.0, 44100), 44100, subtype="FLOAT")
    clip = audio.read(path)
    assert clip.sample_rate == 16000 and clip.num_samples == 16000
    native = audio.read(path, sample_rate=None)
    assert native.sample_rate == 44100 and native.num_samples == 44100


def test_in_memory_inputs(audio, tmp_path: Path) -> None:
    tone = _tone()
    expected = torch.from_numpy(tone)
    as_int16 = (tone * 32767).astype(np.int16)
    inputs = [
        (tone, SR),
        (torch.from_numpy(tone), SR),
        (torch.from_numpy(tone)[None].repeat(2, 1), SR),  # [channels, time]
        {"array": tone, "sampling_rate": SR},  # Hugging Face datasets layout
        {"waveform": torch.from_numpy(tone), "sample_rate": SR},
        AudioClip(torch.from_numpy(tone), SR),
        (as_int16, SR),
    ]
    for source in inputs:
        clip = audio.read(source)
        assert clip.sample_rate == SR
        assert torch.allclose(clip.waveform, expected, atol=1e-4), type(source)
    buffer = io.BytesIO()
    sf.write(buffer, tone, SR, format="WAV", subtype="FLOAT")
    assert torch.equal(audio.read(buffer.getvalue()).waveform, expected)  # bytes
    buffer.seek(0)
    assert torch.equal(audio.read(buffer).waveform, expected)  # a binary file object


def test_collate_pads_and_records_lengths(audio) -> None:
    clips = [audio.read((_tone(s), SR)) for s in (0.3, 0.5)]
    batch = audio.collate(clips)
    assert isinstance(batch, AudioBatch)
    assert batch.waveform.shape == (2, 8000) and batch.lengths.tolist() == [4800, 8000]
    assert (batch.waveform[0, 4800:] == 0).all()
    with pytest.raises(ValueError, match=r"different sample rates \[16000, 22050\]"):
        audio.collate([clips[0], audio.read((_tone(0.5, 22050), 22050), sample_rate=None)])


def test_empty_file(audio, tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(ReadError, match=r"empty.wav: file is empty \(0 bytes\)"):
        audio.read(path)


def test_wav_without_samples(audio, tmp_path: Path) -> None:
    path = tmp_path / "silent.wav"
    sf.write(path, np.zeros((0,), np.float32), SR)
    with pytest.raises(ReadError, match=r"silent.wav: contains no audio samples"):
        audio.read(path)


@pytest.mark.parametrize("name", ["corrupt.wav", "corrupt.flac", "corrupt.ogg"])
def test_corrupt_file(audio, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"RIFF\x00\x00 this is not audio at all \xff\xfe" * 10)
    with pytest.raises(ReadError, match=rf"{name}: not an audio file libsndfile can decode"):
        audio.read(path)


def test_missing_file(audio, tmp_path: Path) -> None:
    with pytest.raises(ReadError, match=r"nope.wav: file not found"):
        audio.read(tmp_path / "nope.wav")


def test_nan_and_infinite_values(audio, tmp_path: Path) -> None:
    tone = _tone()
    tone[100] = np.nan
    tone[200] = np.inf
    path = tmp_path / "nan.wav"
    sf.write(path, tone, SR, subtype="FLOAT")  # float WAV keeps NaN / inf
    with pytest.raises(ReadError, match=r"nan.wav: contains 1 NaN and 1 infinite value\(s\) \(first at channel 0, sample 100\)"):
        audio.read(path)
    with pytest.raises(ReadError, match="contains 1 NaN"):
        audio.read((tone, SR))


@pytest.mark.parametrize("rate, problem", [(0, "sample rate must be positive, got 0"), (-8000, "must be positive"),
                                           (16000.5, "whole number"), ("fast", "number of Hz")])
def test_bad_sample_rate(audio, rate, problem: str) -> None:
    with pytest.raises(ReadError, match=problem):
        audio.read((_tone(), rate))


def test_clip_shorter_than_one_patch(audio, tmp_path: Path) -> None:
    path = tmp_path / "blip.wav"
    sf.write(path, _tone(0.1), SR)  # 1600 samples = 8 frames < one 16-frame patch
    with pytest.raises(ReadError, match=r"blip.wav: clip is too short: 1600 samples \(0.100 s at 16000 Hz\), need at least 2800"):
        audio.read(path)
    assert audio.read(path, min_frames=8).num_samples == 1600
    with pytest.raises(ReadError, match="too short"):
        audio.read((_tone(0.01), SR), min_frames=1)  # 160 samples: not even one 25 ms frame


def test_ambiguous_layouts_are_refused(audio) -> None:
    with pytest.raises(ReadError, match=r"more channels than samples: expected \[channels, time\]"):
        audio.read((_tone(channels=2), SR))  # soundfile's [time, channels]
    with pytest.raises(ReadError, match="an array alone has no sample rate"):
        audio.read(_tone())
    with pytest.raises(ReadError, match="audio dict needs one of"):
        audio.read({"array": _tone()})
    with pytest.raises(ReadError, match="expected an audio file path"):
        audio.read(12)
