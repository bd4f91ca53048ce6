"""Normalisation statistics fitted on the training clips, for datasets other than AudioSet.

AST normalises with fixed per-dataset statistics computed offline (AudioSet: mean -4.2677393,
std 4.5689974). With ``fit_stats=True`` the tokenizer computes them from the training split
instead (the engine calls ``fit`` before training and saves ``fitted_state`` beside the
checkpoint). Statistics cover real frames only, not silence padding.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import torch

from .collate import collate_audio
from .samples import AudioClip
from .tokenizer import AudioPatchTokenizer


class FittedStatsAudioTokenizer(AudioPatchTokenizer):
    """``AudioPatchTokenizer`` whose ``mean`` / ``std`` come from ``fit(training clips)``."""

    def __init__(self, embed_dim: int, batch_size: int = 16, **options: Any) -> None:
        super().__init__(embed_dim, **options)
        self.fit_batch_size = batch_size

    @torch.no_grad()
    def fit(self, samples: Iterable[AudioClip]) -> None:
        clips = list(samples)
        if not clips:
            raise ValueError("cannot fit audio normalisation statistics on zero clips")
        total, total_sq, count = 0.0, 0.0, 0
        for start in range(0, len(clips), self.fit_batch_size):
            feats, frames = self.log_mel(collate_audio(clips[start : start + self.fit_batch_size]))
            real = torch.arange(feats.shape[1], device=feats.device)[None, :] < frames[:, None]
            values = feats[real].double()
            total += float(values.sum())
            total_sq += float((values * values).sum())
            count += values.numel()
        mean = total / count
        self.mean = mean
        self.std = math.sqrt(max(total_sq / count - mean * mean, 1e-12))

    def fitted_state(self) -> dict[str, Any]:
        return {"mean": self.mean, "std": self.std}

    def load_fitted_state(self, state: dict[str, Any]) -> None:
        missing = [k for k in ("mean", "std") if k not in state]
        if missing:
            raise ValueError(f"audio fitted state lacks {missing}; expected {{'mean': float, 'std': float}}")
        if not float(state["std"]) > 0:
            raise ValueError(f"audio fitted state has std {state['std']!r}; expected a positive number")
        self.mean, self.std = float(state["mean"]), float(state["std"])
