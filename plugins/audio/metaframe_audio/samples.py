"""The values passed between the audio stages: one clip (reader → collate) and a padded batch."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from metaframe.device import Movable


@dataclass
class AudioClip:
    """One mono clip: ``waveform`` float32 ``[time]`` at ``sample_rate`` Hz.

    Also accepted by the reader as an in-memory input (then it is checked, mixed and resampled
    like a file), as are ``(array, sample_rate)`` tuples and ``{"array": ..., "sampling_rate": ...}``
    dicts (the layout of Hugging Face ``datasets`` audio columns).
    """

    waveform: torch.Tensor
    sample_rate: int

    @property
    def num_samples(self) -> int:
        return int(self.waveform.shape[-1])

    @property
    def duration(self) -> float:
        return self.num_samples / self.sample_rate


@dataclass
class AudioBatch(Movable):
    """Clips zero-padded to the longest: ``waveform`` ``[B, T]``, ``lengths`` ``[B]`` real samples each."""

    waveform: torch.Tensor
    lengths: torch.Tensor
    sample_rate: int

    def __post_init__(self) -> None:
        if self.waveform.dim() != 2:
            raise ValueError(f"AudioBatch.waveform must be [batch, time], got shape {tuple(self.waveform.shape)}")
        if self.lengths.shape != self.waveform.shape[:1]:
            raise ValueError(
                f"AudioBatch.lengths must be [batch] = [{self.waveform.shape[0]}], got shape {tuple(self.lengths.shape)}"
            )

    def __len__(self) -> int:
        return int(self.waveform.shape[0])
