"""Audio waveform augmentations (tokenizer option ``augment``: gain, noise): train mode only."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import metaframe
from metaframe_audio.augment import AudioAugment
from metaframe_registry import ConfigError

SR = 16000
SMALL = dict(num_mel_bins=32, target_length=100, freq_mask=0, time_mask=0)  # no SpecAugment: augment alone


def _batch() -> object:
    audio = metaframe.get_modality("audio")
    t = np.arange(SR // 2) / SR
    clips = [audio.read(((0.3 * np.sin(2 * np.pi * f * t)).astype(np.float32), SR)) for f in (440.0, 660.0)]
    return audio.collate(clips)


def test_augment_changes_training_features_and_leaves_eval_alone() -> None:
    audio = metaframe.get_modality("audio")
    torch.manual_seed(0)
    tok = audio.build_tokenizer(embed_dim=32, **SMALL, augment={"gain_db": [-6, 6], "noise": {"snr_db": [10, 20]}})
    batch = _batch()
    tok.train()
    with torch.no_grad():
        a, _ = tok.filterbank(batch)
        b, _ = tok.filterbank(batch)
    assert not torch.allclose(a, b)
    tok.eval()
    with torch.no_grad():
        passes = []
        for seed in range(3):
            torch.manual_seed(seed)
            passes.append(tok(batch).tokens)
    assert all(torch.equal(passes[0], p) for p in passes[1:])
    plain = audio.build_tokenizer(embed_dim=32, **SMALL)
    plain.load_state_dict(tok.state_dict())
    with torch.no_grad():
        assert torch.equal(plain.eval()(batch).tokens, passes[0])


def test_gain_scales_and_noise_meets_the_snr_with_padding_kept_zero() -> None:
    wave = torch.zeros(2, 1000)
    wave[0] = torch.sin(torch.arange(1000) * 0.1)
    wave[1, :600] = torch.sin(torch.arange(600) * 0.2)
    lengths = torch.tensor([1000, 600])
    torch.manual_seed(0)
    gained = AudioAugment.from_option({"gain_db": [6, 6]})(wave, lengths)
    assert torch.allclose(gained, wave * 10 ** (6 / 20), atol=1e-6)
    torch.manual_seed(0)
    noisy = AudioAugment.from_option({"noise": {"snr_db": [20, 20]}})(wave, lengths)
    assert torch.all(noisy[1, 600:] == 0)
    noise = noisy - wave
    for i, n in enumerate(lengths.tolist()):
        snr = 10 * torch.log10(wave[i, :n].pow(2).mean() / noise[i, :n].pow(2).mean())
        assert float(snr) == pytest.approx(20.0, abs=0.5)


@pytest.mark.parametrize(
    "option, message",
    [
        ({"reverb": 1}, r"augment: unknown option\(s\) reverb; expected gain_db, noise"),
        ({"gain_db": [6, -6]}, r"augment.gain_db: \[6, -6\] — low is above high"),
        ({"noise": {"snr_db": [10, 20], "std": 0.1}}, r"augment.noise: .* expected \{snr_db: \[low, high\]\} or \{std: value\}"),
        ({"noise": {"std": -1}}, r"augment.noise.std: -1.0 — must be >= 0"),
    ],
)
def test_bad_augment_options_are_config_errors(option: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        metaframe.get_modality("audio").build_tokenizer(embed_dim=32, **SMALL, augment=option)
