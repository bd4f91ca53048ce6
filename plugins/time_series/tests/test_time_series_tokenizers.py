"""Both tokenizers through the registry and a MetaModel: padding invariance, the official conv, gradients."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import metaframe
from metaframe_registry import ReadError

D = 32
MODES = [
    {"mode": "step", "in_channels": 2},
    {"mode": "step", "in_channels": 2, "time_features": True, "normalize": "revin"},
    {"mode": "patch", "in_channels": 2, "patch_len": 4, "stride": 2},
    {"mode": "patch", "in_channels": 2, "patch_len": 4, "stride": 4, "pad_end": False, "affine": True},
]


@pytest.fixture(scope="module")
def encoder():
    return metaframe.FrozenEncoder(embed_dim=D, depth=2, num_heads=2)


def _series(tmp_path, name: str, steps: int, seed: int):
    rng = np.random.default_rng(seed)
    table = pd.DataFrame(
        {"date": pd.date_range("2020-01-01", periods=steps, freq="h"), "x": rng.normal(size=steps), "y": rng.normal(size=steps)}
    )
    table.to_csv(tmp_path / name, index=False)
    return metaframe.get_modality("time_series").read(tmp_path / name)


@pytest.mark.parametrize("options", MODES, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_short_series_alone_equals_batched_with_a_long_one(tmp_path, encoder, options):
    ts = metaframe.get_modality("time_series")
    short, long = _series(tmp_path, "short.csv", 9, 0), _series(tmp_path, "long.csv", 23, 1)
    torch.manual_seed(0)
    model = metaframe.MetaModel(encoder, {"time_series": ts.build_tokenizer(embed_dim=D, **options)}).eval()
    with torch.no_grad():
        alone = model.encode({"time_series": ts.collate([short])})
        for batch, index in ((ts.collate([short, long]), 0), (ts.collate([long, short]), 1)):
            both = model.encode({"time_series": batch})
            a = alone.tokens[0][alone.mask[0]]
            b = both.tokens[index][both.mask[index]]
            assert a.shape == b.shape
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_step_tokens_are_the_official_circular_conv_plus_sinusoidal_positions():
    tok = metaframe.build_tokenizer("time_series", embed_dim=D, mode="step", in_channels=3).eval()
    x = torch.randn(2, 11, 3)
    out = tok(x)
    conv = tok.conv(x.transpose(1, 2)).transpose(1, 2)  # nn.Conv1d(padding=1, padding_mode="circular")
    pos = torch.zeros(11, D)
    position = torch.arange(11.0)[:, None]
    div = torch.exp(torch.arange(0, D, 2).float() * (-np.log(10000.0) / D))
    pos[:, 0::2], pos[:, 1::2] = torch.sin(position * div), torch.cos(position * div)
    torch.testing.assert_close(out.tokens, conv + pos)
    assert out.tokens.shape == (2, 11, D) and bool(out.valid_mask.all())
    assert tuple(tok.conv.weight.shape) == (D, 3, 3) and tok.conv.bias is None


def test_time_features_change_the_tokens_and_are_required_when_configured(tmp_path):
    ts = metaframe.get_modality("time_series")
    tok = ts.build_tokenizer(embed_dim=D, mode="step", in_channels=2, time_features=True)
    sample = _series(tmp_path, "s.csv", 6, 0)
    with_time = tok(ts.collate([sample])).tokens
    shifted = _series(tmp_path, "s.csv", 6, 0)
    shifted.time_features = shifted.time_features + 0.25
    assert not torch.allclose(with_time, tok(ts.collate([shifted])).tokens)
    with pytest.raises(ValueError, match="time_features=True but the batch has no timestamps"):
        tok(ts.collate([ts.read(sample.values.numpy())]))


def test_patch_counts_follow_patchtst_and_short_series_name_their_file(tmp_path):
    ts = metaframe.get_modality("time_series")
    tok = ts.build_tokenizer(embed_dim=D, mode="patch", in_channels=2, patch_len=16, stride=8)
    tb = tok(ts.collate([ts.read(np.zeros((96, 2)))]))
    assert tb.tokens.shape == (1, 2 * 12, D)  # (96 - 16) // 8 + 2 = 12 patches per channel
    assert tb.extras["token_channel"][0].tolist() == [0] * 12 + [1] * 12
    short = _series(tmp_path, "tiny.csv", 5, 0)
    with pytest.raises(ReadError, match=r"tiny\.csv: series has 5 steps, shorter than one patch \(patch_len=16\)"):
        tok(ts.collate([_series(tmp_path, "ok.csv", 40, 1), short]))


def test_wrong_channel_count_and_unknown_options_are_clear_errors():
    ts = metaframe.get_modality("time_series")
    with pytest.raises(ValueError, match="3 channels, this tokenizer was built with in_channels=7"):
        ts.build_tokenizer(embed_dim=D)(torch.zeros(1, 10, 3))
    with pytest.raises(TypeError, match="mode='step' has no option\\(s\\) patch_len"):
        ts.build_tokenizer(embed_dim=D, mode="step", patch_len=4)
    with pytest.raises(ValueError, match="mode='wavelet'"):
        ts.build_tokenizer(embed_dim=D, mode="wavelet")


@pytest.mark.parametrize("mode", ["step", "patch"])
def test_gradient_reaches_the_tokenizer_through_the_frozen_encoder(encoder, mode):
    ts = metaframe.get_modality("time_series")
    tok = ts.build_tokenizer(embed_dim=D, mode=mode, in_channels=2, patch_len=4, stride=2) if mode == "patch" else (
        ts.build_tokenizer(embed_dim=D, mode=mode, in_channels=2)
    )
    head = metaframe.build_head("classification", embed_dim=D, num_classes=3)
    model = metaframe.MetaModel(encoder, {"time_series": tok}, {"cls": head}).train()
    batch = ts.collate([ts.read(np.random.randn(12, 2)), ts.read(np.random.randn(7, 2))])
    logits = model({"time_series": batch})["cls"]
    assert logits.shape == (2, 3)
    torch.nn.functional.cross_entropy(logits, torch.tensor([0, 2])).backward()
    grads = [p.grad for p in tok.parameters() if p.requires_grad]
    assert grads and all(g is not None and g.abs().sum() > 0 for g in grads)
    assert all(p.grad is None and not p.requires_grad for p in model.encoder.parameters())
