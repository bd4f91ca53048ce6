"""Collate audio clips of different lengths into one zero-padded batch that records each length."""

from __future__ import annotations

from typing import Sequence

import torch

from metaframe.collate import pad_sequences

from .samples import AudioBatch, AudioClip


def collate_audio(samples: Sequence[AudioClip]) -> AudioBatch:
    if len(samples) == 0:
        raise ValueError("cannot collate an empty list of audio clips")
    bad = [type(s).__name__ for s in samples if not isinstance(s, AudioClip)]
    if bad:
        raise TypeError(f"audio collate expects AudioClip samples (from the audio reader), got {bad[0]}")
    rates = sorted({s.sample_rate for s in samples})
    if len(rates) > 1:
        raise ValueError(
            f"clips have different sample rates {rates}; read them with one target rate "
            "(reader option sample_rate, 16000 by default) before batching"
        )
    waveform, _ = pad_sequences([s.waveform.float() for s in samples])
    lengths = torch.tensor([s.num_samples for s in samples], dtype=torch.long)
    return AudioBatch(waveform, lengths, rates[0])
