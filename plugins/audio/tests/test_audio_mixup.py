"""Mixup / CutMix of padded waveform batches: waveforms, lengths and targets mixed alike."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import metaframe
from metaframe.engine.config import parse_config
from metaframe.engine.mixup import mix_batch
from metaframe_audio.samples import AudioClip

SR = 16000
SMALL = dict(num_mel_bins=16, target_length=20, patch_size=8, patch_stride=8, freq_mask=0, time_mask=0)
LENGTHS = [1600, 800, 1200, 400, 1600, 1000]


def _cfg(tmp_path: Path, mixup: dict) -> object:
    return parse_config({"modality": "audio", "tokenizer": SMALL, "head": {"kind": "classification"},
                         "data": {}, "mixup": mixup, "output_dir": str(tmp_path / "run")})


def _batch(lengths: list[int] = LENGTHS) -> tuple[dict, dict, dict]:
    """Clip i is the constant i + 1 over its own length (then padding) and has class i."""
    audio = metaframe.get_modality("audio")
    clips = [AudioClip(torch.full((n,), float(i + 1)), SR) for i, n in enumerate(lengths)]
    size = len(lengths)
    return {"audio": audio.collate(clips)}, {"label": torch.arange(size)}, {"label": list(range(size))}


@pytest.mark.parametrize("mixup", [{"alpha": 0.8}, {"cutmix_alpha": 1.0}])
def test_mixed_waveforms_lengths_and_targets_agree(tmp_path: Path, mixup: dict) -> None:
    cfg = _cfg(tmp_path, mixup)
    values = torch.arange(1, 7, dtype=torch.float32)
    lengths = torch.tensor(LENGTHS)
    grown = 0
    for step in range(6):
        inputs, targets, maps = _batch()
        mixed, soft = mix_batch(cfg, inputs, targets, maps, step)
        wave, y = mixed["audio"].waveform, soft["label"]
        assert torch.allclose(y.sum(1), torch.ones(6))
        for i in range(6):
            partners = torch.nonzero(y[i] > 0).flatten()  # itself and its partner (or only one of them)
            if "alpha" in mixup:
                # the first samples are real in both: the target-weighted blend of the two values
                assert float(wave[i, 0]) == pytest.approx(float(y[i] @ values), abs=1e-5)
                assert int(mixed["audio"].lengths[i]) == int(lengths[partners].max())
            else:
                # CutMix: its own length, or as far as the partner's pasted real samples reach
                real = wave[i] != 0
                last = int(torch.nonzero(real).max()) + 1
                assert int(mixed["audio"].lengths[i]) == max(int(lengths[i]), last)
            grown += int(mixed["audio"].lengths[i]) > LENGTHS[i]
    assert grown > 0  # some clips took a longer partner's length


def test_cutmix_on_waveforms_cuts_the_share_the_targets_say(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, {"cutmix_alpha": 1.0})
    values = torch.arange(1, 7, dtype=torch.float32)
    cut = 0
    for step in range(8):
        inputs, targets, maps = _batch([1600] * 6)
        mixed, soft = mix_batch(cfg, inputs, targets, maps, step)
        share = torch.stack([(mixed["audio"].waveform == v).float().mean(1) for v in values], 1)
        assert torch.allclose(share, soft["label"], atol=1e-6)
        cut += int(not torch.allclose(soft["label"], torch.eye(6)))
    assert cut > 0


def test_a_run_with_mixup_on_audio_trains(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    t = np.arange(SR // 4) / SR
    data = [((0.3 * np.sin(2 * np.pi * (300 + 500 * (i % 2)) * t) + rng.normal(0, 0.05, t.shape)).astype(np.float32)[: 3000 + 200 * (i % 5)], SR)
            for i in range(12)]
    pairs = [(clip, "low" if i % 2 == 0 else "high") for i, clip in enumerate(data)]
    common = {"modality": "audio", "tokenizer": SMALL, "head": {"kind": "classification"}, "data": {},
              "encoder": {"embed_dim": 32, "depth": 1, "num_heads": 2, "seed": 0}, "epochs": 1, "batch_size": 4,
              "device": "cpu"}
    plain = metaframe.train({**common, "output_dir": str(tmp_path / "plain")}, train_data=pairs, val_data=pairs[:4], quiet=True)
    mixed = metaframe.train({**common, "output_dir": str(tmp_path / "mixed"), "mixup": {"alpha": 0.8, "cutmix_alpha": 1.0}},
                            train_data=pairs, val_data=pairs[:4], quiet=True)
    assert mixed.steps == plain.steps == 3
    assert mixed.final["train_loss"] != pytest.approx(plain.final["train_loss"])


def test_a_waveform_batch_is_mixable_before_its_collate_ran_in_this_process(tmp_path: Path) -> None:
    """With DataLoader workers the collate may have run only there: the engine imports its module."""
    import subprocess
    import sys

    code = (
        "import sys, torch\n"
        "from metaframe.engine.config import parse_config\n"
        "from metaframe.engine.mixup import mix_batch\n"
        "from metaframe_audio.samples import AudioBatch\n"
        "assert 'metaframe_audio.collate' not in sys.modules\n"
        "batch = AudioBatch(torch.ones(2, 4000), torch.tensor([4000, 2000]), 16000)\n"
        "cfg = parse_config({'modality': 'audio', 'data': {}, 'mixup': {'alpha': 0.8}})\n"
        "mixed, _ = mix_batch(cfg, {'audio': batch}, {'label': torch.tensor([0, 1])}, {'label': ['a', 'b']}, 0)\n"
        "print(type(mixed['audio']).__name__)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "AudioBatch"
