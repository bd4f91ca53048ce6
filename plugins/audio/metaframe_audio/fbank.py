"""Kaldi's log-Mel filterbank in plain torch, batched: a drop-in for ``torchaudio.compliance.kaldi.fbank``.

torchaudio cannot be installed beside the torch metaframe uses, and AST / Meta-Transformer audio
models were trained on torchaudio's ``kaldi.fbank``. This module follows Kaldi's definition step by
step (explicit framing, per-frame DC removal, per-frame pre-emphasis, window, zero-padding to a power
of two, power spectrum, HTK mel triangles, float-epsilon log floor) in the same float operations,
so it matches torchaudio's float32 output to within 1e-3 on every log-Mel value (what
tests/test_audio_fbank.py holds), not bit for bit: FFT and summation order may differ.

``kaldi_fbank`` has torchaudio's signature (``waveform`` ``[channels, time]``); ``kaldi_fbank_batch``
takes ``[batch, time]`` plus the real length of each row, so padded clips give the frames they give
alone. Plain ``torch.stft`` cannot do per-frame DC removal and pre-emphasis, hence the framing here.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
import torch.nn.functional as F

from metaframe.nn.tracing import exporting

MILLISECONDS_TO_SECONDS = 0.001
EPSILON = float(torch.finfo(torch.float32).eps)  # Kaldi's log floor: log(eps) = -15.9424
WINDOW_TYPES = ("hamming", "hanning", "povey", "rectangular", "blackman")


def next_power_of_2(x: int) -> int:
    return 1 if x == 0 else 2 ** (x - 1).bit_length()


def window_properties(
    sample_frequency: float, frame_shift: float, frame_length: float, round_to_power_of_two: bool
) -> tuple[int, int, int]:
    """(window_shift, window_size, padded_window_size) in samples, rounded as Kaldi does."""
    window_shift = int(sample_frequency * frame_shift * MILLISECONDS_TO_SECONDS)
    window_size = int(sample_frequency * frame_length * MILLISECONDS_TO_SECONDS)
    padded = next_power_of_2(window_size) if round_to_power_of_two else window_size
    if window_shift <= 0:
        raise ValueError(f"frame_shift {frame_shift} ms at {sample_frequency} Hz is less than one sample")
    if window_size < 2:
        raise ValueError(f"frame_length {frame_length} ms at {sample_frequency} Hz is less than two samples")
    if padded % 2:
        raise ValueError(
            f"the FFT size ({padded} samples) must be even: use round_to_power_of_two=True or an even frame length"
        )
    return window_shift, window_size, padded


def num_frames(
    num_samples: int | torch.Tensor,
    sample_frequency: float = 16000.0,
    frame_length: float = 25.0,
    frame_shift: float = 10.0,
    snip_edges: bool = True,
) -> int | torch.Tensor:
    """How many frames ``kaldi_fbank`` gives for a clip of ``num_samples`` (int or tensor of lengths)."""
    shift, size, _ = window_properties(sample_frequency, frame_shift, frame_length, True)
    if isinstance(num_samples, torch.Tensor):
        if snip_edges:
            return torch.where(num_samples < size, 0, 1 + (num_samples - size).div(shift, rounding_mode="floor"))
        return (num_samples + shift // 2).div(shift, rounding_mode="floor")
    if snip_edges:
        return 0 if num_samples < size else 1 + (num_samples - size) // shift
    return (num_samples + shift // 2) // shift


def feature_window(
    window_type: str, window_size: int, blackman_coeff: float, device: torch.device, dtype: torch.dtype
) -> torch.Tensor:
    """Kaldi's analysis windows; 'hanning' is the symmetric Hann window (AST's choice)."""
    if window_type == "hanning":
        return torch.hann_window(window_size, periodic=False, device=device, dtype=dtype)
    if window_type == "hamming":
        return torch.hamming_window(window_size, periodic=False, alpha=0.54, beta=0.46, device=device, dtype=dtype)
    if window_type == "povey":  # like Hann but reaches zero at the edges
        return torch.hann_window(window_size, periodic=False, device=device, dtype=dtype).pow(0.85)
    if window_type == "rectangular":
        return torch.ones(window_size, device=device, dtype=dtype)
    if window_type == "blackman":  # Kaldi's coefficients, not torch.blackman_window's
        a = 2 * math.pi / (window_size - 1)
        n = torch.arange(window_size, device=device, dtype=dtype)
        return blackman_coeff - 0.5 * torch.cos(a * n) + (0.5 - blackman_coeff) * torch.cos(2 * a * n)
    raise ValueError(f"window_type {window_type!r}: expected one of {', '.join(WINDOW_TYPES)}")


def mel_scale(freq: torch.Tensor) -> torch.Tensor:
    return 1127.0 * (1.0 + freq / 700.0).log()


def mel_scale_scalar(freq: float) -> float:
    return 1127.0 * math.log(1.0 + freq / 700.0)


def inverse_mel_scale(mel: torch.Tensor) -> torch.Tensor:
    return 700.0 * ((mel / 1127.0).exp() - 1.0)


def vtln_warp_freq(
    vtln_low: float, vtln_high: float, low_freq: float, high_freq: float, warp: float, freq: torch.Tensor
) -> torch.Tensor:
    """Kaldi's piecewise-linear vocal-tract-length warping of frequencies."""
    lo = vtln_low * max(1.0, warp)
    hi = vtln_high * min(1.0, warp)
    scale = 1.0 / warp
    if not (lo > low_freq and hi < high_freq):
        raise ValueError(f"VTLN cut-offs ({lo}, {hi}) must lie inside (low_freq, high_freq) = ({low_freq}, {high_freq})")
    scale_left = (scale * lo - low_freq) / (lo - low_freq)
    scale_right = (high_freq - scale * hi) / (high_freq - hi)
    res = torch.empty_like(freq)
    outside = torch.lt(freq, low_freq) | torch.gt(freq, high_freq)
    before_l = torch.lt(freq, lo)
    before_h = torch.lt(freq, hi)
    after_h = torch.ge(freq, hi)
    # order matters: the regions overlap and later assignments win, as in Kaldi
    res[after_h] = high_freq + scale_right * (freq[after_h] - high_freq)
    res[before_h] = scale * freq[before_h]
    res[before_l] = low_freq + scale_left * (freq[before_l] - low_freq)
    res[outside] = freq[outside]
    return res


def mel_banks(
    num_bins: int,
    padded_window_size: int,
    sample_frequency: float,
    low_freq: float,
    high_freq: float,
    vtln_low: float = 100.0,
    vtln_high: float = -500.0,
    vtln_warp: float = 1.0,
) -> torch.Tensor:
    """Triangular HTK-mel filters ``[num_bins, padded_window_size // 2 + 1]`` (float32, Nyquist column 0)."""
    if num_bins <= 3:
        raise ValueError(f"num_mel_bins must be more than 3, got {num_bins}")
    nyquist = 0.5 * sample_frequency
    if high_freq <= 0.0:
        high_freq += nyquist
    if not (0.0 <= low_freq < nyquist and 0.0 < high_freq <= nyquist and low_freq < high_freq):
        raise ValueError(
            f"bad mel range: low_freq={low_freq}, high_freq={high_freq} with Nyquist {nyquist} "
            "(expected 0 <= low_freq < high_freq <= Nyquist; high_freq <= 0 counts from Nyquist)"
        )
    if vtln_high < 0.0:
        vtln_high += nyquist
    if vtln_warp != 1.0 and not (low_freq < vtln_low < high_freq and 0.0 < vtln_high < high_freq and vtln_low < vtln_high):
        raise ValueError(
            f"bad VTLN range: vtln_low={vtln_low}, vtln_high={vtln_high} with low_freq={low_freq}, high_freq={high_freq}"
        )
    fft_bin_width = sample_frequency / padded_window_size
    mel_low = mel_scale_scalar(low_freq)
    mel_high = mel_scale_scalar(high_freq)
    delta = (mel_high - mel_low) / (num_bins + 1)  # +1: the outer triangles reach past the ends
    bin_index = torch.arange(num_bins).unsqueeze(1)
    left = mel_low + bin_index * delta
    center = mel_low + (bin_index + 1.0) * delta
    right = mel_low + (bin_index + 2.0) * delta
    if vtln_warp != 1.0:
        left, center, right = (
            mel_scale(vtln_warp_freq(vtln_low, vtln_high, low_freq, high_freq, vtln_warp, inverse_mel_scale(m)))
            for m in (left, center, right)
        )
    mel = mel_scale(fft_bin_width * torch.arange(padded_window_size / 2)).unsqueeze(0)
    up = (mel - left) / (center - left)
    down = (right - mel) / (right - center)
    if vtln_warp == 1.0:
        banks = torch.max(torch.zeros(1), torch.min(up, down))
    else:  # warping may reorder left / centre / right
        banks = torch.zeros_like(up)
        up_idx = torch.gt(mel, left) & torch.le(mel, center)
        down_idx = torch.gt(mel, center) & torch.lt(mel, right)
        banks[up_idx] = up[up_idx]
        banks[down_idx] = down[down_idx]
    return F.pad(banks, (0, 1))  # the Nyquist bin gets no weight, as in Kaldi


@lru_cache(maxsize=32)
def _cached_mel_banks(*args: float) -> torch.Tensor:
    """The filters for one setting, built once (building costs more than applying them to a short clip)."""
    with torch.inference_mode(False):  # a normal tensor even when first built under inference_mode
        return mel_banks(*args)  # type: ignore[arg-type]


def _frames(
    waveform: torch.Tensor, lengths: torch.Tensor | None, window_size: int, window_shift: int, snip_edges: bool
) -> torch.Tensor:
    """``[B, T]`` → ``[B, m, window_size]`` frames (a strided view when ``snip_edges``)."""
    total = waveform.shape[-1]
    if snip_edges:
        return waveform.unfold(-1, window_size, window_shift)
    # Kaldi's edge handling: the signal reflected with its edge sample repeated ([2,1,0 | 0,1,2 … n | n …]);
    # reflected at each clip's own end, so a padded clip frames exactly as it does alone.
    n = lengths if lengths is not None else torch.full((waveform.shape[0],), total, device=waveform.device)
    m = (total + window_shift // 2) // window_shift
    pad = window_size // 2 - window_shift // 2
    start = torch.arange(m, device=waveform.device) * window_shift - pad
    idx = (start[:, None] + torch.arange(window_size, device=waveform.device)).unsqueeze(0)  # [1, m, W]
    n = n.view(-1, 1, 1)
    idx = torch.where(idx < 0, -idx - 1, idx)
    idx = torch.where(idx >= n, 2 * n - 1 - idx, idx).clamp(0, total - 1)
    b = idx.shape[0] if idx.shape[0] > 1 else waveform.shape[0]
    return waveform.unsqueeze(1).expand(b, m, total).gather(-1, idx.expand(b, m, window_size))


def kaldi_fbank_batch(
    waveform: torch.Tensor,
    lengths: torch.Tensor | None = None,
    *,
    pad_value: float = 0.0,
    blackman_coeff: float = 0.42,
    dither: float = 0.0,
    energy_floor: float = 1.0,
    frame_length: float = 25.0,
    frame_shift: float = 10.0,
    high_freq: float = 0.0,
    htk_compat: bool = False,
    low_freq: float = 20.0,
    min_duration: float = 0.0,
    num_mel_bins: int = 23,
    preemphasis_coefficient: float = 0.97,
    raw_energy: bool = True,
    remove_dc_offset: bool = True,
    round_to_power_of_two: bool = True,
    sample_frequency: float = 16000.0,
    snip_edges: bool = True,
    subtract_mean: bool = False,
    use_energy: bool = False,
    use_log_fbank: bool = True,
    use_power: bool = True,
    vtln_high: float = -500.0,
    vtln_low: float = 100.0,
    vtln_warp: float = 1.0,
    window_type: str = "povey",
) -> torch.Tensor:
    """Filterbanks of a batch of mono clips ``[B, T]`` → ``[B, frames, num_mel_bins (+1 with use_energy)]``.

    ``lengths`` (``[B]``, samples) marks each clip's real end in a zero-padded batch: its frames
    are those it gives alone, later frames are ``pad_value``, and ``subtract_mean`` averages real
    frames only. Options and defaults are ``torchaudio.compliance.kaldi.fbank``'s.
    """
    if waveform.dim() != 2:
        raise ValueError(f"expected a waveform batch [batch, time], got shape {tuple(waveform.shape)}")
    if not waveform.is_floating_point():
        raise TypeError(f"expected a floating-point waveform, got {waveform.dtype}")
    if not 0.0 <= preemphasis_coefficient <= 1.0:
        raise ValueError(f"preemphasis_coefficient must be in [0, 1], got {preemphasis_coefficient}")
    device, dtype = waveform.device, waveform.dtype
    batch, total = waveform.shape
    shift, size, padded = window_properties(sample_frequency, frame_shift, frame_length, round_to_power_of_two)
    if lengths is not None:
        lengths = torch.as_tensor(lengths, device=device).long()
        if lengths.shape != (batch,):
            raise ValueError(f"lengths must be [batch] = [{batch}], got shape {tuple(lengths.shape)}")
    if exporting():  # checks on the lengths' values cannot be held by a graph: collate made them
        if min_duration > 0.0:
            raise ValueError(f"min_duration={min_duration} cannot be exported: it returns no frames depending on the "
                             "lengths' values; export with min_duration=0")
    else:
        if lengths is not None and bool((lengths > total).any()):
            raise ValueError(f"a length exceeds the waveform's {total} samples: {lengths.tolist()}")
        shortest = int(lengths.min()) if lengths is not None else total
        if shortest < min_duration * sample_frequency:
            return torch.empty(0, device=device, dtype=dtype)
        if shortest < size:
            raise ValueError(
                f"a clip of {shortest} samples is shorter than one {frame_length} ms frame "
                f"({size} samples at {sample_frequency} Hz)"
            )
    eps = torch.tensor(EPSILON, device=device, dtype=dtype)

    frames = _frames(waveform, lengths, size, shift, snip_edges)  # [B, m, W]
    if dither != 0.0:
        frames = frames + torch.randn(frames.shape, device=device, dtype=dtype) * dither
    if remove_dc_offset:
        frames = frames - frames.mean(dim=-1, keepdim=True)
    if use_energy and raw_energy:
        log_energy = _log_energy(frames, eps, energy_floor)
    if preemphasis_coefficient != 0.0:
        previous = torch.cat([frames[..., :1], frames[..., :-1]], dim=-1)  # first sample replicated
        frames = frames - preemphasis_coefficient * previous
    frames = frames * feature_window(window_type, size, blackman_coeff, device, dtype)
    if padded != size:
        frames = F.pad(frames, (0, padded - size))
    if use_energy and not raw_energy:
        log_energy = _log_energy(frames, eps, energy_floor)

    spectrum = torch.fft.rfft(frames).abs()
    if use_power:
        spectrum = spectrum.pow(2.0)
    banks = _cached_mel_banks(num_mel_bins, padded, sample_frequency, low_freq, high_freq, vtln_low, vtln_high, vtln_warp)
    m = spectrum.shape[1]
    feats = torch.mm(spectrum.reshape(batch * m, -1), banks.to(device=device, dtype=dtype).T).view(batch, m, -1)
    if use_log_fbank:
        feats = torch.max(feats, eps).log()
    if use_energy:
        energy = log_energy.unsqueeze(-1)
        feats = torch.cat((feats, energy) if htk_compat else (energy, feats), dim=-1)

    real = None
    if lengths is not None:
        counts = num_frames(lengths, sample_frequency, frame_length, frame_shift, snip_edges)
        real = torch.arange(m, device=device)[None, :] < counts[:, None]  # [B, m]
    if subtract_mean:
        if real is None:
            feats = feats - feats.mean(dim=1, keepdim=True)
        else:
            weights = real.unsqueeze(-1).to(dtype)
            feats = feats - (feats * weights).sum(1, keepdim=True) / weights.sum(1, keepdim=True)
    if real is not None:
        feats = feats.masked_fill(~real.unsqueeze(-1), pad_value)
    return feats


def _log_energy(frames: torch.Tensor, eps: torch.Tensor, energy_floor: float) -> torch.Tensor:
    log_energy = torch.max(frames.pow(2).sum(-1), eps).log()
    if energy_floor == 0.0:
        return log_energy
    return torch.max(log_energy, torch.tensor(math.log(energy_floor), device=frames.device, dtype=frames.dtype))


def kaldi_fbank(
    waveform: torch.Tensor,
    blackman_coeff: float = 0.42,
    channel: int = -1,
    dither: float = 0.0,
    energy_floor: float = 1.0,
    frame_length: float = 25.0,
    frame_shift: float = 10.0,
    high_freq: float = 0.0,
    htk_compat: bool = False,
    low_freq: float = 20.0,
    min_duration: float = 0.0,
    num_mel_bins: int = 23,
    preemphasis_coefficient: float = 0.97,
    raw_energy: bool = True,
    remove_dc_offset: bool = True,
    round_to_power_of_two: bool = True,
    sample_frequency: float = 16000.0,
    snip_edges: bool = True,
    subtract_mean: bool = False,
    use_energy: bool = False,
    use_log_fbank: bool = True,
    use_power: bool = True,
    vtln_high: float = -500.0,
    vtln_low: float = 100.0,
    vtln_warp: float = 1.0,
    window_type: str = "povey",
) -> torch.Tensor:
    """``torchaudio.compliance.kaldi.fbank``: ``[channels, time]`` → ``[frames, num_mel_bins]``.

    Same argument names, defaults and result (one channel is used: ``channel``, -1 meaning 0).
    """
    if waveform.dim() == 1:
        waveform = waveform.unsqueeze(0)
    if waveform.dim() != 2:
        raise ValueError(f"expected a waveform [channels, time], got shape {tuple(waveform.shape)}")
    channel = max(channel, 0)
    if channel >= waveform.shape[0]:
        raise ValueError(f"channel {channel} does not exist: the waveform has {waveform.shape[0]} channel(s)")
    out = kaldi_fbank_batch(
        waveform[channel : channel + 1],
        blackman_coeff=blackman_coeff,
        dither=dither,
        energy_floor=energy_floor,
        frame_length=frame_length,
        frame_shift=frame_shift,
        high_freq=high_freq,
        htk_compat=htk_compat,
        low_freq=low_freq,
        min_duration=min_duration,
        num_mel_bins=num_mel_bins,
        preemphasis_coefficient=preemphasis_coefficient,
        raw_energy=raw_energy,
        remove_dc_offset=remove_dc_offset,
        round_to_power_of_two=round_to_power_of_two,
        sample_frequency=sample_frequency,
        snip_edges=snip_edges,
        subtract_mean=subtract_mean,
        use_energy=use_energy,
        use_log_fbank=use_log_fbank,
        use_power=use_power,
        vtln_high=vtln_high,
        vtln_low=vtln_low,
        vtln_warp=vtln_warp,
        window_type=window_type,
    )
    return out[0] if out.dim() == 3 else out
