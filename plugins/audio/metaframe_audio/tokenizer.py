"""The AST-style audio tokenizer: waveform batch → Kaldi log-Mel → overlapping 16×16 patches.

Inside one module, on the tokenizer's device: per-clip mean removal, the Kaldi filterbank
(``kaldi_fbank_batch``, float32 even under autocast), pad / crop to ``target_length`` frames,
SpecAugment in train mode, ``(fbank - mean) / (2 * std)``, ``Conv2d(1, D, kernel=16, stride=10)``
over (frequency, time), learned positions on the patch grid. Patches that lie entirely in a
clip's padding are masked, so short clips are not attended beyond their sound.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Iterator

import torch
from torch import nn

from metaframe import extras as keys
from metaframe.tokens import TokenBatch

from .augment import AudioAugment
from .collate import collate_audio
from .fbank import WINDOW_TYPES, kaldi_fbank_batch, num_frames, window_properties
from .positions import adapt_pos_embed
from .samples import AudioBatch, AudioClip
from .specaugment import spec_augment

AUDIOSET_MEAN = -4.2677393
AUDIOSET_STD = 4.5689974
# set by the tokenizer itself; everything else of kaldi.fbank's signature may go in fbank_options
RESERVED_FBANK_OPTIONS = ("sample_frequency", "num_mel_bins", "frame_length", "frame_shift", "window_type", "channel")


def grid_size(bins: int, frames: int, patch_size: int, patch_stride: int) -> tuple[int, int]:
    """The conv's output grid (frequency, time) — the token count is its product (12 × 101 = 1212 for AudioSet)."""
    return (bins - patch_size) // patch_stride + 1, (frames - patch_size) // patch_stride + 1


def _chunks(samples: Iterable[AudioClip], size: int) -> Iterator[list[AudioClip]]:
    chunk: list[AudioClip] = []
    for clip in samples:
        chunk.append(clip)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class AudioPatchTokenizer(nn.Module):
    """Waveforms (``AudioBatch``, or a ``[B, T]`` tensor at ``sample_rate``) → patch tokens + mask.

    ``fit_stats=True``: ``mean`` / ``std`` come from ``fit(training clips)`` (saved as the fitted
    state) instead of the fixed values; otherwise ``needs_fit`` is False and no pass over the data
    is made. ``augment``: waveform gain / noise in train mode (``gain_db``, ``noise``;
    metaframe_audio.augment), before the filterbank and SpecAugment.
    """

    def __init__(
        self,
        embed_dim: int,
        num_mel_bins: int = 128,
        target_length: int | None = 1024,
        patch_size: int = 16,
        patch_stride: int = 10,
        sample_rate: int = 16000,
        mean: float | None = AUDIOSET_MEAN,
        std: float | None = AUDIOSET_STD,
        freq_mask: int = 48,
        time_mask: int = 192,
        frame_length: float = 25.0,
        frame_shift: float = 10.0,
        window_type: str = "hanning",
        fbank_options: dict[str, Any] | None = None,
        fit_stats: bool = False,
        fit_batch_size: int = 16,
        augment: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if patch_size > num_mel_bins:
            raise ValueError(f"patch_size {patch_size} is larger than num_mel_bins {num_mel_bins}")
        if target_length is not None and target_length < patch_size:
            raise ValueError(f"target_length {target_length} frames is shorter than one {patch_size}-frame patch")
        if patch_stride < 1:
            raise ValueError(f"patch_stride must be at least 1, got {patch_stride}")
        if (mean is None) != (std is None) or (std is not None and std <= 0):
            raise ValueError(f"normalisation needs both mean and a positive std (or neither), got mean={mean}, std={std}")
        if window_type not in WINDOW_TYPES:
            raise ValueError(f"window_type {window_type!r}: expected one of {', '.join(WINDOW_TYPES)}")
        extra = dict(fbank_options or {})
        clash = sorted(set(extra) & set(RESERVED_FBANK_OPTIONS))
        if clash:
            raise ValueError(f"fbank_options {clash} are tokenizer options of their own; pass them directly")
        window_properties(float(sample_rate), frame_shift, frame_length, True)  # validates the framing
        self.embed_dim = embed_dim
        self.num_mel_bins = num_mel_bins
        self.target_length = target_length
        self.patch_size = patch_size
        self.patch_stride = patch_stride
        self.sample_rate = sample_rate
        self.mean = mean
        self.std = std
        self.freq_mask = freq_mask
        self.fit_stats = fit_stats
        self.fit_batch_size = fit_batch_size
        self.time_mask = time_mask
        self.augment = AudioAugment.from_option(augment) if augment else None
        self.fbank_options: dict[str, Any] = {
            "htk_compat": True,
            "use_energy": False,
            "dither": 0.0,
            **extra,
            "num_mel_bins": num_mel_bins,
            "frame_length": frame_length,
            "frame_shift": frame_shift,
            "window_type": window_type,
        }
        self.proj = nn.Conv2d(1, embed_dim, kernel_size=patch_size, stride=patch_stride)
        self.grid = grid_size(num_mel_bins, target_length or 1024, patch_size, patch_stride)
        self.pos_embed = nn.Parameter(torch.zeros(1, embed_dim, *self.grid))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)

    # -- fitted statistics (fit_stats=True) ----------------------------------------------
    @property
    def needs_fit(self) -> bool:
        """Only ``fit_stats=True`` asks the engine for a pass over the training clips."""
        return self.fit_stats

    @torch.no_grad()
    def fit(self, samples: Iterable[AudioClip]) -> None:
        """Set ``mean`` / ``std`` from the real (unpadded) log-Mel frames of ``samples``, streamed in chunks."""
        total, total_sq, count = 0.0, 0.0, 0
        for chunk in _chunks(samples, self.fit_batch_size):
            feats, frames = self.log_mel(collate_audio(chunk))
            real = torch.arange(feats.shape[1], device=feats.device)[None, :] < frames[:, None]
            values = feats[real].double()
            total, total_sq, count = total + float(values.sum()), total_sq + float((values * values).sum()), count + values.numel()
        if count == 0:
            raise ValueError("cannot fit audio normalisation statistics on zero clips")
        mean = total / count
        self.mean, self.std = mean, math.sqrt(max(total_sq / count - mean * mean, 1e-12))

    def fitted_state(self) -> dict[str, Any]:
        return {"mean": self.mean, "std": self.std}

    def load_fitted_state(self, state: dict[str, Any]) -> None:
        missing = [k for k in ("mean", "std") if k not in state]
        if missing:
            raise ValueError(f"audio fitted state lacks {missing}; expected {{'mean': float, 'std': float}}")
        if not float(state["std"]) > 0:
            raise ValueError(f"audio fitted state has std {state['std']!r}; expected a positive number")
        self.mean, self.std = float(state["mean"]), float(state["std"])

    # -- stages ------------------------------------------------------------------------
    def _as_batch(self, batch: Any) -> AudioBatch:
        if isinstance(batch, AudioBatch):
            out = batch
        elif isinstance(batch, AudioClip):
            out = AudioBatch(batch.waveform[None], torch.tensor([batch.num_samples]), batch.sample_rate)
        elif isinstance(batch, torch.Tensor) and batch.dim() == 2:
            out = AudioBatch(batch, torch.full((batch.shape[0],), batch.shape[1], dtype=torch.long), self.sample_rate)
        else:
            raise TypeError(
                "audio tokenizer expects an AudioBatch (from the audio modality's collate), an AudioClip or a "
                f"waveform tensor [batch, time] at {self.sample_rate} Hz; got {type(batch).__name__}"
                + (f" of shape {tuple(batch.shape)}" if isinstance(batch, torch.Tensor) else "")
            )
        if out.sample_rate != self.sample_rate:
            raise ValueError(
                f"audio batch is at {out.sample_rate} Hz but this tokenizer expects {self.sample_rate} Hz; "
                f"read the clips with sample_rate={self.sample_rate} (the reader resamples)"
            )
        return out

    def log_mel(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw Kaldi log-Mel features ``[B, frames, bins]`` (padding frames 0) and real frames ``[B]``."""
        audio = self._as_batch(batch)
        device = self.proj.weight.device
        wave = audio.waveform.to(device=device, dtype=torch.float32)
        lengths = audio.lengths.to(device=device, dtype=torch.long)
        with torch.autocast(device_type=device.type, enabled=False):
            real = torch.arange(wave.shape[1], device=device)[None, :] < lengths[:, None]
            mean = (wave * real).sum(1, keepdim=True) / lengths[:, None].clamp(min=1)
            wave = (wave - mean) * real  # per-clip mean removal (AST), padding stays zero
            feats = kaldi_fbank_batch(
                wave, lengths, pad_value=0.0, sample_frequency=float(audio.sample_rate), **self.fbank_options
            )
            frames = num_frames(
                lengths, float(audio.sample_rate), self.fbank_options["frame_length"],
                self.fbank_options["frame_shift"], self.fbank_options.get("snip_edges", True),
            )
        return feats, frames

    def filterbank(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised log-Mel features ``[B, frames, bins]`` and real frames per clip ``[B]``.

        Padded / cropped to ``target_length``; masked (SpecAugment) when the module is in train mode.
        """
        if self.training and self.augment is not None:
            audio = self._as_batch(batch)
            wave = audio.waveform.to(device=self.proj.weight.device, dtype=torch.float32)
            batch = AudioBatch(self.augment(wave, audio.lengths.to(wave.device)), audio.lengths, audio.sample_rate)
        feats, frames = self.log_mel(batch)
        with torch.autocast(device_type=feats.device.type, enabled=False):
            if self.target_length is not None:  # AST pads the log-Mel features with zeros (then normalises) or crops;
                # padding by the full target then cropping needs no branch on the clip length, so an exported graph
                # takes clips of any length
                feats = torch.nn.functional.pad(feats, (0, 0, 0, self.target_length))[:, : self.target_length]
                frames = frames.clamp(max=self.target_length)
            else:  # pad so that every patch starting inside the longest clip exists, whatever the batch
                last_start = self.patch_stride * ((int(frames.max()) - 1) // self.patch_stride)
                need = last_start + self.patch_size
                if feats.shape[1] < need:
                    feats = torch.nn.functional.pad(feats, (0, 0, 0, need - feats.shape[1]))
            if self.training and (self.freq_mask > 0 or self.time_mask > 0):
                feats = spec_augment(feats, frames, self.freq_mask, self.time_mask)
            if self.mean is not None and self.std is not None:
                feats = (feats - self.mean) / (2.0 * self.std)
        return feats, frames

    def forward(self, batch: Any) -> TokenBatch:
        feats, frames = self.filterbank(batch)
        if feats.shape[1] < self.patch_size:
            raise ValueError(
                f"the batch has {feats.shape[1]} filterbank frames, fewer than one {self.patch_size}-frame patch; "
                "set target_length or use longer clips"
            )
        x = self.proj(feats.transpose(1, 2).unsqueeze(1).to(self.proj.weight.dtype))  # [B, D, F', T']
        grid = (x.shape[-2], x.shape[-1])
        pos = adapt_pos_embed(self.pos_embed, grid).to(x.dtype)
        tokens = (x + pos).flatten(2).transpose(1, 2)  # frequency-major, as AST flattens
        starts = torch.arange(grid[1], device=x.device) * self.patch_stride
        real = starts[None, :] < frames[:, None]  # a patch is padding when it starts after the last real frame
        mask = real[:, None, :].expand(-1, grid[0], -1).reshape(x.shape[0], -1)
        return TokenBatch(tokens, mask, {keys.NUM_FRAMES: frames})

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any, **kwargs: Any) -> None:
        """Positions trained on another grid (target length, mel bins) are adapted, not refused."""
        key = prefix + "pos_embed"
        table = state_dict.get(key)
        if isinstance(table, torch.Tensor) and table.dim() == 4 and table.shape[:2] == self.pos_embed.shape[:2]:
            if table.shape != self.pos_embed.shape:
                state_dict[key] = adapt_pos_embed(table.to(self.pos_embed.dtype), self.grid)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
