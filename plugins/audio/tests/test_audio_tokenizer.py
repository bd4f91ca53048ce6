"""The audio tokenizer through the registry and a MetaModel: tokens, masks, positions, training."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import metaframe
from metaframe_audio import AUDIOSET_MEAN, AUDIOSET_STD, kaldi_fbank, spec_augment

SR = 16000
SMALL = dict(num_mel_bins=32, target_length=100, freq_mask=8, time_mask=20)  # grid 2 x 9
DIM = 32


@pytest.fixture(scope="module")
def audio() -> metaframe.Modality:
    return metaframe.get_modality("audio")


def _clip(audio, seconds: float, seed: int = 0, freq: float = 440.0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    wave = 0.3 * np.sin(2 * np.pi * freq * t) + 0.05 * rng.standard_normal(t.size) + 0.1  # with a DC offset
    return audio.read((wave.astype(np.float32), SR))


def _model(tokenizer: torch.nn.Module, pooling: str = "cls") -> metaframe.MetaModel:
    torch.manual_seed(0)
    encoder = metaframe.FrozenEncoder(embed_dim=DIM, depth=2, num_heads=2)
    head = metaframe.build_head("classification", embed_dim=DIM, num_classes=3, pooling=pooling)
    return metaframe.MetaModel(encoder, tokenizers={"audio": tokenizer}, heads={"cls": head}).eval()


def test_audioset_token_count_is_the_conv_grid(audio) -> None:
    tokenizer = audio.build_tokenizer(embed_dim=8).eval()  # manifest defaults: 128 bins, 1024 frames
    out = tokenizer(audio.collate([_clip(audio, 10.24)]))
    assert out.tokens.shape == (1, 12 * 101, 8)  # (128-16)//10+1 by (1024-16)//10+1
    assert bool(out.valid_mask.all())
    assert out.extras["num_frames"].tolist() == [1022]


def test_filterbank_is_kaldi_fbank_padded_and_normalised(audio) -> None:
    tokenizer = audio.build_tokenizer(embed_dim=DIM, **SMALL).eval()
    clip = _clip(audio, 0.5)
    feats, frames = tokenizer.filterbank(audio.collate([clip]))
    wave = clip.waveform[None]
    expected = kaldi_fbank(
        wave - wave.mean(), htk_compat=True, use_energy=False, window_type="hanning", num_mel_bins=32,
        dither=0.0, frame_shift=10, sample_frequency=SR,
    )
    assert frames.tolist() == [expected.shape[0]] == [48]
    assert feats.shape == (1, 100, 32)
    assert torch.allclose(feats[0, :48], (expected - AUDIOSET_MEAN) / (2 * AUDIOSET_STD), atol=1e-5)
    assert torch.allclose(feats[0, 48:], torch.tensor((0.0 - AUDIOSET_MEAN) / (2 * AUDIOSET_STD)))
    long_feats, long_frames = tokenizer.filterbank(audio.collate([_clip(audio, 2.0)]))
    assert long_feats.shape == (1, 100, 32) and long_frames.tolist() == [100]  # cropped to target_length


def test_patches_entirely_in_padding_are_masked(audio) -> None:
    tokenizer = audio.build_tokenizer(embed_dim=DIM, **SMALL).eval()
    out = tokenizer(audio.collate([_clip(audio, 0.5), _clip(audio, 0.9)]))
    assert out.tokens.shape == (2, 18, DIM)
    mask = out.valid_mask.view(2, 2, 9)  # (frequency, time) grid, frequency-major
    # 48 real frames: time patches start at 0, 10, ..., 80; those starting at >= 48 are padding
    assert mask[0].tolist() == [[True] * 5 + [False] * 4] * 2
    assert mask[1].tolist() == [[True] * 9] * 2  # 88 frames: the last patch starts at 80


def test_padding_invariance_through_metamodel(audio) -> None:
    tokenizer = audio.build_tokenizer(embed_dim=DIM, **SMALL)
    model = _model(tokenizer, pooling="mean")
    short, long = _clip(audio, 0.4, seed=1), _clip(audio, 1.2, seed=2, freq=1200.0)
    with torch.no_grad():
        alone = model.encode({"audio": audio.collate([short])})
        mixed = model.encode({"audio": audio.collate([short, long])})
        logits_alone = model({"audio": audio.collate([short])})["cls"]
        logits_mixed = model({"audio": audio.collate([short, long])})["cls"]
    assert torch.equal(alone.mask[0], mixed.mask[0])
    assert not bool(mixed.mask[0].all())  # the short clip has padding patches
    real = alone.mask[0]
    assert torch.allclose(alone.tokens[0][real], mixed.tokens[0][real], atol=1e-5)
    assert torch.allclose(logits_alone[0], logits_mixed[0], atol=1e-5)


def test_variable_length_mode_is_padding_invariant_and_grows(audio) -> None:
    tokenizer = audio.build_tokenizer(embed_dim=DIM, num_mel_bins=32, target_length=None).eval()
    short, long = _clip(audio, 0.5), _clip(audio, 1.0)
    alone = tokenizer(audio.collate([short]))
    mixed = tokenizer(audio.collate([short, long]))
    assert alone.num_tokens == 2 * 5 and mixed.num_tokens == 2 * 10  # grid follows the batch's frames
    assert bool(alone.valid_mask.all())  # 48 frames: patches start at 0..40, the last one half padding
    assert torch.equal(mixed.valid_mask[0].view(2, 10)[:, :5], torch.ones(2, 5, dtype=torch.bool))
    assert torch.allclose(alone.tokens[0], mixed.tokens[0][mixed.valid_mask[0]], atol=1e-5)
    huge = tokenizer(audio.collate([_clip(audio, 12.0)]))  # 1198 frames: beyond the 1024-frame table
    assert huge.num_tokens == 2 * 120


def test_positions_adapt_when_loading_another_grid(audio) -> None:
    source = audio.build_tokenizer(embed_dim=DIM, num_mel_bins=32, target_length=200)
    shorter = audio.build_tokenizer(embed_dim=DIM, num_mel_bins=32, target_length=100)
    shorter.load_state_dict(source.state_dict())
    assert shorter.pos_embed.shape == (1, DIM, 2, 9)
    assert torch.equal(shorter.pos_embed, source.pos_embed[..., :9])  # time is absolute: first columns
    finer = audio.build_tokenizer(embed_dim=DIM, num_mel_bins=64, target_length=300)
    finer.load_state_dict(source.state_dict())  # more mel bins, longer: interpolated
    assert finer.pos_embed.shape == (1, DIM, 5, 29)
    assert torch.equal(finer.proj.weight, source.proj.weight)


def test_gradient_reaches_tokenizer_through_frozen_encoder(audio) -> None:
    tokenizer = audio.build_tokenizer(embed_dim=DIM, **SMALL)
    model = _model(tokenizer).train()
    batch = audio.collate([_clip(audio, 0.5), _clip(audio, 0.8, seed=3)])
    loss = torch.nn.functional.cross_entropy(model({"audio": batch})["cls"], torch.tensor([0, 2]))
    loss.backward()
    assert tokenizer.proj.weight.grad is not None and tokenizer.proj.weight.grad.abs().sum() > 0
    assert tokenizer.pos_embed.grad is not None and tokenizer.pos_embed.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.encoder.parameters())
    assert not model.encoder.training  # the frozen encoder stays in eval mode inside model.train()


def test_specaugment_only_in_train_mode(audio) -> None:
    tokenizer = audio.build_tokenizer(embed_dim=DIM, num_mel_bins=32, target_length=100, freq_mask=12, time_mask=30)
    batch = audio.collate([_clip(audio, 1.0, seed=s) for s in range(4)])
    tokenizer.eval()
    first, _ = tokenizer.filterbank(batch)
    second, _ = tokenizer.filterbank(batch)
    assert torch.equal(first, second)
    tokenizer.train()
    torch.manual_seed(0)
    masked, _ = tokenizer.filterbank(batch)
    assert not torch.equal(masked, first)
    masked_value = (0.0 - AUDIOSET_MEAN) / (2 * AUDIOSET_STD)
    changed = masked != first
    assert torch.allclose(masked[changed], torch.tensor(masked_value))


def test_spec_augment_masks_are_bands_within_limits() -> None:
    torch.manual_seed(1)
    feats = torch.ones(64, 50, 20)
    frames = torch.full((64,), 30)
    out = spec_augment(feats, frames, freq_mask=6, time_mask=10)
    zero = out == 0
    freq_masked = zero.all(dim=1)  # [B, bins]
    time_masked = zero.all(dim=2)  # [B, frames]
    assert int(freq_masked.sum(1).max()) < 6 and int(time_masked.sum(1).max()) < 10
    assert int(freq_masked.sum(1).max()) > 0 and int(time_masked.sum(1).max()) > 0
    assert not bool(time_masked[:, 30:].any())  # never in padding frames
    for row in time_masked:  # one contiguous span
        idx = row.nonzero().flatten()
        assert idx.numel() == 0 or int(idx[-1] - idx[0]) + 1 == idx.numel()


def test_wrong_rate_and_raw_tensors(audio) -> None:
    tokenizer = audio.build_tokenizer(embed_dim=DIM, **SMALL).eval()
    slow = audio.read((np.zeros(8000, np.float32) + 0.1, 8000), sample_rate=None)
    with pytest.raises(ValueError, match="audio batch is at 8000 Hz but this tokenizer expects 16000 Hz"):
        tokenizer(audio.collate([slow]))
    clip = _clip(audio, 0.5)
    from_tensor = tokenizer(clip.waveform[None])
    assert torch.equal(from_tensor.tokens, tokenizer(audio.collate([clip])).tokens)
    with pytest.raises(TypeError, match="expects an AudioBatch"):
        tokenizer(clip.waveform)


def test_bad_tokenizer_options(audio) -> None:
    with pytest.raises(ValueError, match="patch_size 16 is larger than num_mel_bins 8"):
        audio.build_tokenizer(embed_dim=DIM, num_mel_bins=8)
    with pytest.raises(ValueError, match="fbank_options \\['num_mel_bins'\\]"):
        audio.build_tokenizer(embed_dim=DIM, fbank_options={"num_mel_bins": 64})
    with pytest.raises(ValueError, match="mean and a positive std"):
        audio.build_tokenizer(embed_dim=DIM, std=0.0)


def test_cli_lists_audio(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("metaframe")
    done = subprocess.run([str(exe), "list-modalities", "--format", "json"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    rows = {row["name"]: row for row in json.loads(done.stdout)}
    assert rows["audio"]["status"] == "ok"
    assert rows["audio"]["distribution"] == "metaframe-audio"
    assert "1212" in rows["audio"]["info"]["tokens_per_sample"]


def test_filterbank_stays_float32_under_bf16_autocast(audio) -> None:
    tokenizer = audio.build_tokenizer(embed_dim=DIM, **SMALL).eval()
    batch = audio.collate([_clip(audio, 0.5)])
    reference, _ = tokenizer.filterbank(batch)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        feats, _ = tokenizer.filterbank(batch)
        out = tokenizer(batch)
    assert feats.dtype == torch.float32 and torch.equal(feats, reference)
    assert out.tokens.shape == (1, 18, DIM) and torch.isfinite(out.tokens.float()).all()
