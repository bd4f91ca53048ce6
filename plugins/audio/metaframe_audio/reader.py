"""Reading audio into one checked mono clip at the model's rate.

Files go through soundfile (libsndfile: WAV, FLAC, OGG/Vorbis, Opus, MP3, AIFF, ...); in-memory
audio is an ``AudioClip``, a ``(array, sample_rate)`` tuple or a dict ``{"array": ..., "sampling_rate":
...}``, arrays being ``[time]`` or ``[channels, time]`` (torchaudio's layout) as numpy or torch.
Every problem (empty or corrupt file, NaN / infinite values, a bad sample rate, a clip too short
for one patch) is a ``ReadError`` that names the source.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from metaframe_registry import ReadError

from .resample import mix_channels, resample
from .samples import AudioClip

MAX_AMPLITUDE = 1e6  # float samples beyond this are corrupt, not loud (nominal range ±1)
ARRAY_KEYS = ("array", "waveform", "audio")
RATE_KEYS = ("sampling_rate", "sample_rate", "sr")


def check_duration(samples: int, rate: int, max_seconds: float | None, source: Any) -> None:
    """Refuse audio longer than ``max_seconds``: a 1 Hz header (or a tiny in-memory rate) would
    otherwise be resampled to gigabytes. Checked on the declared length, before decoding."""
    if max_seconds is not None and samples > max_seconds * rate:
        raise ReadError(
            source,
            f"holds {samples} samples at {rate} Hz = {samples / rate:.6g} s, longer than max_seconds={max_seconds:g} "
            "(a wrong sample rate in the header, or raise max_seconds / cut the file)",
        )


def _decode(source: Any, max_seconds: float | None = None) -> tuple[np.ndarray, int]:
    """A file path, bytes or a binary file object → float32 ``[channels, time]`` and its rate."""
    import soundfile as sf

    if isinstance(source, (str, os.PathLike)):
        target: Any = Path(source)  # missing / directory / empty: checked by Modality.read (metaframe.ops.require_file)
    else:
        target = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
    try:
        with sf.SoundFile(target) as f:
            rate = int(f.samplerate)
            if rate <= 0:
                raise ReadError(source, f"header declares a sample rate of {rate} Hz")
            if f.frames > 0:  # declared length (0 or unknown for some streams)
                check_duration(int(f.frames), rate, max_seconds, source)
            data = f.read(dtype="float32", always_2d=True)
    except (sf.SoundFileError, RuntimeError, TypeError, ValueError, OSError, MemoryError) as exc:
        if isinstance(exc, ReadError):
            raise
        detail = str(exc).splitlines()[-1] if str(exc) else type(exc).__name__
        raise ReadError(
            source, f"not an audio file libsndfile can decode (WAV, FLAC, OGG, MP3, AIFF, ...): {detail}"
        ) from exc
    return np.ascontiguousarray(data.T), rate


def _as_float_array(array: Any, source: Any) -> np.ndarray:
    """numpy / torch / list → float32, integer PCM scaled to [-1, 1)."""
    if isinstance(array, torch.Tensor):
        array = array.detach().cpu().numpy()
    array = np.asarray(array)
    if array.dtype == np.uint8:  # 8-bit PCM is unsigned, centred on 128
        return (array.astype(np.float32) - 128.0) / 128.0
    if np.issubdtype(array.dtype, np.integer):
        return array.astype(np.float32) / float(-np.iinfo(array.dtype).min)
    if array.dtype == bool or not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise ReadError(source, f"expected real-valued audio samples, got dtype {array.dtype}")
    return array.astype(np.float32, copy=False)


def _rate(value: Any, source: Any) -> int:
    try:
        rate = float(value)
    except (TypeError, ValueError):
        raise ReadError(source, f"sample rate must be a number of Hz, got {value!r}") from None
    if not np.isfinite(rate) or rate <= 0:
        raise ReadError(source, f"sample rate must be positive, got {value!r}")
    if rate != int(rate):
        raise ReadError(source, f"sample rate must be a whole number of Hz, got {value!r}")
    return int(rate)


def _unpack(source: Any, max_seconds: float | None = None) -> tuple[np.ndarray, int]:
    """Any accepted input → float32 ``[channels, time]`` and its sample rate."""
    if isinstance(source, (str, os.PathLike, bytes, bytearray)) or hasattr(source, "read"):
        return _decode(source, max_seconds)
    if isinstance(source, AudioClip):
        array, rate = source.waveform, source.sample_rate
    elif isinstance(source, (tuple, list)) and len(source) == 2 and not np.isscalar(source[0]):
        array, rate = source
    elif isinstance(source, dict):
        akey = next((k for k in ARRAY_KEYS if k in source), None)
        rkey = next((k for k in RATE_KEYS if k in source), None)
        if akey is None or rkey is None:
            raise ReadError(
                source, f"audio dict needs one of {ARRAY_KEYS} and one of {RATE_KEYS}; got keys {sorted(source)}"
            )
        array, rate = source[akey], source[rkey]
    elif isinstance(source, (np.ndarray, torch.Tensor)):
        raise ReadError(
            source, "an array alone has no sample rate: pass (array, sample_rate), a dict or an AudioClip"
        )
    else:
        raise ReadError(
            source,
            "expected an audio file path, bytes, a binary file object, (array, sample_rate), "
            "{'array': ..., 'sampling_rate': ...} or an AudioClip",
        )
    rate = _rate(rate, source)
    audio = _as_float_array(array, source)
    if audio.ndim == 1:
        audio = audio[None]
    if audio.ndim != 2:
        raise ReadError(source, f"expected audio [time] or [channels, time], got {audio.ndim} dimensions {audio.shape}")
    if audio.shape[0] > audio.shape[1]:
        raise ReadError(
            source,
            f"audio of shape {audio.shape} has more channels than samples: expected [channels, time] "
            "(transpose a [time, channels] array, e.g. array.T)",
        )
    return audio, rate


def min_samples(sample_rate: int, min_frames: int, frame_length: float = 25.0, frame_shift: float = 10.0) -> int:
    """Samples needed for ``min_frames`` Kaldi frames (snip_edges framing)."""
    size = int(sample_rate * frame_length * 0.001)
    shift = int(sample_rate * frame_shift * 0.001)
    return size + max(min_frames - 1, 0) * shift


def read_audio(
    source: Any,
    sample_rate: int | None = 16000,
    channel: int | None = None,
    resample_quality: str = "HQ",
    min_frames: int = 16,
    frame_length: float = 25.0,
    frame_shift: float = 10.0,
    max_seconds: float | None = 3600.0,
) -> AudioClip:
    """One mono clip at ``sample_rate`` Hz (None: keep the source's rate).

    ``channel``: None averages all channels, an index picks one. ``min_frames``: the shortest clip
    accepted, in filterbank frames of ``frame_length`` ms every ``frame_shift`` ms (16 frames = one
    16×16 patch, 0.175 s at the defaults); set these to the tokenizer's values if you change them.
    ``max_seconds``: longer audio is a ``ReadError`` (None: no limit), checked before decoding
    and resampling, so a header or an in-memory rate of 1 Hz cannot expand to gigabytes.
    """
    audio, rate = _unpack(source, max_seconds)
    check_duration(audio.shape[-1], rate, max_seconds, source)
    if audio.shape[1] == 0 or audio.shape[0] == 0:
        raise ReadError(source, "contains no audio samples")
    finite = np.isfinite(audio)
    if not finite.all():
        bad = np.argwhere(~finite)[0]
        nan = int(np.isnan(audio).sum())
        inf = int(np.isinf(audio).sum())
        raise ReadError(
            source,
            f"contains {nan} NaN and {inf} infinite value(s) (first at channel {bad[0]}, sample {bad[1]})",
        )
    peak = float(np.abs(audio).max())
    if peak > MAX_AMPLITUDE:
        raise ReadError(
            source,
            f"holds a sample of magnitude {peak:.3g}, beyond {MAX_AMPLITUDE:g} (audio is nominally within ±1; "
            "the filterbank's power would overflow float32): a corrupt float file or unscaled data",
        )
    mono = mix_channels(audio, channel, source)
    out_rate = rate if sample_rate is None else _rate(sample_rate, "reader option sample_rate")
    try:
        mono = resample(mono, rate, out_rate, resample_quality)
    except ValueError as exc:
        raise ReadError(source, str(exc)) from exc
    need = min_samples(out_rate, min_frames, frame_length, frame_shift)
    if mono.shape[0] < max(need, 1):
        raise ReadError(
            source,
            f"clip is too short: {mono.shape[0]} samples ({mono.shape[0] / out_rate:.3f} s at {out_rate} Hz), "
            f"need at least {need} ({need / out_rate:.3f} s) for {min_frames} frame(s) of {frame_length} ms "
            f"every {frame_shift} ms (reader option min_frames)",
        )
    return AudioClip(torch.from_numpy(np.ascontiguousarray(mono, dtype=np.float32)), out_rate)
