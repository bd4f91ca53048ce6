"""The IMU tokenizer through the registry and a MetaModel: both projections, padding invariance,
masked absent channels, gradients, short windows."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import metaframe
from metaframe_registry import ReadError

D = 32


@pytest.fixture(scope="module")
def encoder():
    return metaframe.FrozenEncoder(embed_dim=D, depth=2, num_heads=2)


def _windows(imu, tmp_path, lengths, channels=6, **options):
    out = []
    for i, steps in enumerate(lengths):
        path = tmp_path / f"w{i}.npy"
        np.save(path, np.random.default_rng(i).normal(size=(channels, steps)).astype(np.float32))
        out.append(imu.read(path, **options))
    return out


@pytest.mark.parametrize("options", [{"projection": "channel"}, {"projection": "joint", "normalize": "revin"}, {"projection": "joint", "stride": 4}])
def test_short_window_alone_equals_batched_with_a_long_one(encoder, tmp_path, options):
    imu = metaframe.get_modality("imu")
    short, long = _windows(imu, tmp_path, [20, 50])
    torch.manual_seed(0)
    model = metaframe.MetaModel(encoder, {"imu": imu.build_tokenizer(embed_dim=D, patch_len=8, **options)}).eval()
    with torch.no_grad():
        alone = model.encode({"imu": imu.collate([short])})
        for batch, index in ((imu.collate([short, long]), 0), (imu.collate([long, short]), 1)):
            assert batch.values.shape == (2, 6, 50)
            both = model.encode({"imu": batch})
            torch.testing.assert_close(
                alone.tokens[0][alone.mask[0]], both.tokens[index][both.mask[index]], atol=1e-5, rtol=1e-4
            )


def test_token_counts_per_projection():
    imu = metaframe.get_modality("imu")
    x = torch.randn(2, 6, 128)  # 2.56 s at 50 Hz
    channel = imu.build_tokenizer(embed_dim=D)(x)  # patch 16, stride 16, PatchTST end padding: 9 per channel
    joint = imu.build_tokenizer(embed_dim=D, projection="joint")(x)
    assert channel.tokens.shape == (2, 6 * 9, D) and joint.tokens.shape == (2, 9, D)


def test_absent_optional_magnetometer_tokens_are_masked(tmp_path):
    imu = metaframe.get_modality("imu")
    (window,) = _windows(imu, tmp_path, [32], groups=["acc", "gyro", "mag"], optional_groups=["mag"])
    assert window.present.tolist() == [True] * 6 + [False] * 3
    tok = imu.build_tokenizer(embed_dim=D, in_channels=9, patch_len=8)
    tb = tok(imu.collate([window]))
    per_channel = tb.valid_mask[0].reshape(9, -1)
    assert per_channel[:6].all() and not per_channel[6:].any()
    joint = imu.build_tokenizer(embed_dim=D, in_channels=9, patch_len=8, projection="joint")(imu.collate([window]))
    assert joint.valid_mask.all()
    with pytest.raises(ValueError, match="9 channels, this tokenizer was built with in_channels=6"):
        imu.build_tokenizer(embed_dim=D)(imu.collate([window]))


@pytest.mark.parametrize("projection", ["channel", "joint"])
def test_gradient_reaches_the_tokenizer_through_the_frozen_encoder(encoder, tmp_path, projection):
    imu = metaframe.get_modality("imu")
    tok = imu.build_tokenizer(embed_dim=D, patch_len=8, projection=projection)
    model = metaframe.MetaModel(
        encoder, {"imu": tok}, {"cls": metaframe.build_head("classification", embed_dim=D, num_classes=4)}
    ).train()
    logits = model({"imu": imu.collate(_windows(imu, tmp_path, [24, 40]))})["cls"]
    torch.nn.functional.cross_entropy(logits, torch.tensor([1, 3])).backward()
    grads = [p.grad for p in tok.parameters() if p.requires_grad]
    assert grads and all(g is not None and g.abs().sum() > 0 for g in grads)
    assert all(p.grad is None for p in model.encoder.parameters())


def test_window_shorter_than_a_patch_names_its_file(tmp_path):
    imu = metaframe.get_modality("imu")
    windows = _windows(imu, tmp_path, [40, 5])
    for projection in ("channel", "joint"):
        tok = imu.build_tokenizer(embed_dim=D, patch_len=16, projection=projection)
        with pytest.raises(ReadError, match=r"w1\.npy: series has 5 steps, shorter than one patch \(patch_len=16\)"):
            tok(imu.collate(windows))


def test_collate_refuses_mixed_rates(tmp_path):
    imu = metaframe.get_modality("imu")
    a = _windows(imu, tmp_path, [16], rate=50)[0]
    b = _windows(imu, tmp_path, [16], rate=100)[0]
    with pytest.raises(ValueError, match="different sample rates"):
        imu.collate([a, b])
