"""Collate audio clips of different lengths into one zero-padded batch that records each length,
and mix such batches (Mixup / CutMix, registered in ``metaframe.mixable``)."""

from __future__ import annotations

from typing import Sequence

import torch

from metaframe.collate import pad_sequences
from metaframe.mixable import CutBox, cut, grid, mix

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


# Mixup / CutMix (config ``mixup``) mix the waveforms, before the filterbank: the log-Mel of a
# mixed waveform is the spectrogram of a mixed sound (a blend of two log-Mels is not), AST's
# training mixes waveforms too, and the tokenizer (filterbank, normalisation, SpecAugment) sees
# a batch like any other. A mixed clip is real wherever either partner is.
@mix.register
def _mix_audio(batch: AudioBatch, perm: torch.Tensor, lam: float) -> AudioBatch:
    wave = batch.waveform
    partner = batch.lengths[perm.to(batch.lengths.device)]
    mixed = lam * wave + (1.0 - lam) * wave[perm.to(wave.device)]
    return AudioBatch(mixed, torch.maximum(batch.lengths, partner), batch.sample_rate)


@cut.register
def _cut_audio(batch: AudioBatch, perm: torch.Tensor, box: CutBox) -> AudioBatch:
    """The partner's samples over a stretch of the padded length (``box.span``)."""
    wave = batch.waveform
    span = box.span(wave.shape[1])
    mixed = wave.clone()
    mixed[:, span] = wave[perm.to(wave.device)][:, span]
    partner = batch.lengths[perm.to(batch.lengths.device)]
    pasted_end = torch.clamp(partner, max=span.stop)  # the partner's real samples reach this far into the span
    lengths = torch.where(pasted_end > span.start, torch.maximum(batch.lengths, pasted_end), batch.lengths)
    return AudioBatch(mixed, lengths, batch.sample_rate)


@grid.register
def _grid_audio(batch: AudioBatch) -> tuple[int, int]:
    return 1, int(batch.waveform.shape[1])
