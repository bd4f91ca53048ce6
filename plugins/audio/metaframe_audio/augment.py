"""Waveform augmentations next to SpecAugment: random gain and additive Gaussian noise.

Tokenizer option ``augment`` (``modalities.audio.tokenizer.augment``), applied by the tokenizer
only in training mode, before the filterbank, one draw per clip::

    augment: {gain_db: [-6, 6], noise: {snr_db: [10, 40]}}     # or noise: {std: 0.005}

``gain_db``: the clip is scaled by ``10 ** (g / 20)``, ``g`` uniform in the range. ``noise``:
white noise at a signal-to-noise ratio uniform in ``snr_db`` (relative to the clip's RMS over
its real samples) or of a fixed ``std``. Padding stays zero. SpecAugment (``freq_mask`` /
``time_mask``) is configured as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from metaframe_registry import ConfigError

KEYS = ("gain_db", "noise")


def _range(value: Any, field: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"augment.{field}: {value!r} — expected a range [low, high]") from None
    if lo > hi:
        raise ConfigError(f"augment.{field}: {value!r} — low is above high")
    return lo, hi


@dataclass(frozen=True)
class AudioAugment:
    gain_db: tuple[float, float] | None = None
    snr_db: tuple[float, float] | None = None
    noise_std: float | None = None

    @classmethod
    def from_option(cls, option: dict[str, Any]) -> "AudioAugment":
        unknown = sorted(set(option) - set(KEYS))
        if unknown:
            raise ConfigError(f"augment: unknown option(s) {', '.join(unknown)}; expected {', '.join(KEYS)} (SpecAugment: freq_mask, time_mask)")
        gain = _range(option["gain_db"], "gain_db") if option.get("gain_db") is not None else None
        noise = option.get("noise")
        snr = std = None
        if noise is not None:
            if not isinstance(noise, dict) or len(set(noise) & {"snr_db", "std"}) != 1 or set(noise) - {"snr_db", "std"}:
                raise ConfigError(f"augment.noise: {noise!r} — expected {{snr_db: [low, high]}} or {{std: value}}")
            if "snr_db" in noise:
                snr = _range(noise["snr_db"], "noise.snr_db")
            else:
                std = float(noise["std"])
                if std < 0:
                    raise ConfigError(f"augment.noise.std: {std} — must be >= 0")
        return cls(gain, snr, std)

    def __call__(self, wave: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """A new ``[B, T]`` waveform batch; samples past each clip's length stay zero."""
        b = wave.shape[0]
        real = (torch.arange(wave.shape[1], device=wave.device)[None, :] < lengths[:, None]).to(wave.dtype)
        out = wave
        if self.gain_db is not None:
            lo, hi = self.gain_db
            g = lo + (hi - lo) * torch.rand(b, 1).to(wave)  # drawn on CPU: the same on any device
            out = out * 10.0 ** (g / 20.0)
        if self.snr_db is not None or self.noise_std is not None:
            if self.snr_db is not None:
                lo, hi = self.snr_db
                snr = lo + (hi - lo) * torch.rand(b, 1).to(wave)
                rms = ((out * real).pow(2).sum(1, keepdim=True) / lengths[:, None].clamp(min=1)).sqrt()
                std = rms / 10.0 ** (snr / 20.0)
            else:
                std = torch.full((b, 1), float(self.noise_std)).to(wave)
            out = out + torch.randn(wave.shape).to(wave) * std
        return out * real
