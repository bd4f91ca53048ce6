"""metaframe-audio: the entry module. Torch-free: it declares the manifest and nothing else.

The heavy names (``kaldi_fbank``, ``kaldi_fbank_batch``, ``read_audio``, ``AudioPatchTokenizer``, ...)
are imported on first attribute access (module ``__getattr__``), so ``metaframe list-modalities``
never imports torch while ``from metaframe_audio import kaldi_fbank`` still works.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from metaframe_registry import ModalityManifest, Recipe, lazy_module

EXTENSIONS = [".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif", ".au", ".caf", ".w64", ".rf64"]

_LAZY: dict[str, str] = {
    "kaldi_fbank": "metaframe_audio.fbank",
    "kaldi_fbank_batch": "metaframe_audio.fbank",
    "num_frames": "metaframe_audio.fbank",
    "mel_banks": "metaframe_audio.fbank",
    "AudioClip": "metaframe_audio.samples",
    "AudioBatch": "metaframe_audio.samples",
    "read_audio": "metaframe_audio.reader",
    "collate_audio": "metaframe_audio.collate",
    "resample": "metaframe_audio.resample",
    "spec_augment": "metaframe_audio.specaugment",
    "AudioPatchTokenizer": "metaframe_audio.tokenizer",
    "build_tokenizer": "metaframe_audio.factory",
    "AUDIOSET_MEAN": "metaframe_audio.tokenizer",
    "AUDIOSET_STD": "metaframe_audio.tokenizer",
}

__all__ = ["manifest", *_LAZY]


def manifest() -> ModalityManifest:
    return ModalityManifest(
        name="audio",
        description="Audio clips as AST-style patches of a Kaldi log-Mel filterbank",
        inputs=["file", "bytes", "array", "tensor"],
        extensions=EXTENSIONS,
        tokenizer="metaframe_audio.factory:build_tokenizer",
        reader="metaframe_audio.reader:read_audio",
        collate="metaframe_audio.collate:collate_audio",
        examples="metaframe_audio.examples:write_examples",
        demo="metaframe_audio.demo:task",
        tokenizer_options={
            "num_mel_bins": 128,
            "target_length": 1024,
            "patch_size": 16,
            "patch_stride": 10,
            "sample_rate": 16000,
            "mean": -4.2677393,
            "std": 4.5689974,
            "freq_mask": 48,
            "time_mask": 192,
            "fit_stats": False,
        },
        reader_options={"sample_rate": 16000, "channel": None, "resample_quality": "HQ", "min_frames": 16},
        example_tokenizer_options={"num_mel_bins": 32, "target_length": 100, "freq_mask": 8, "time_mask": 20},
        example_reader_options={},
        info={
            "tokens_per_sample": "((bins - 16) // 10 + 1) * ((frames - 16) // 10 + 1) = 12 * 101 = 1212 at defaults",
            "sample": "AudioClip(waveform [time] float32 mono, sample_rate)",
            "batch": "AudioBatch(waveform [B, T] zero-padded, lengths [B], sample_rate)",
            "filterbank": "Kaldi fbank (torchaudio.compliance.kaldi.fbank compatible), computed in the tokenizer",
        },
        recipe=Recipe(
            pooling="cls+max+mean", batch_size=8,
            note="generated tone sweeps: 0.245 / 0.263 vs 0.212 / 0.226 built-in; near chance (0.25) either way in 5 epochs (benchmarks/bench_recipes.py, 5 epochs, 200 train / 200 val, seed 0, whisper-tiny.en pre-trained and random; docs/benchmarks.md 'Plugin recipes')",
        ),
    )


__getattr__, __dir__ = lazy_module(__name__, _LAZY)


if TYPE_CHECKING:  # pragma: no cover
    from .collate import collate_audio
    from .factory import build_tokenizer
    from .fbank import kaldi_fbank, kaldi_fbank_batch, mel_banks, num_frames
    from .reader import read_audio
    from .resample import resample
    from .samples import AudioBatch, AudioClip
    from .specaugment import spec_augment
    from .tokenizer import AUDIOSET_MEAN, AUDIOSET_STD, AudioPatchTokenizer
