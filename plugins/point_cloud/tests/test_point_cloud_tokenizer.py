"""PointPatchEmbed through the registry: shapes, masks, padding invariance, gradients, CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

import metaframe
from metaframe_point_cloud.collate import PointCloudBatch


@pytest.fixture(scope="module")
def pc():
    return metaframe.get_modality("point_cloud")


def clouds(pc, sizes, seed=0):
    rng = np.random.default_rng(seed)
    return [pc.read(rng.normal(size=(n, 3)), num_points=None) for n in sizes]


def test_reference_shapes_1024_points_give_256_tokens(pc):
    torch.manual_seed(0)
    tok = pc.build_tokenizer(embed_dim=16)  # manifest defaults: ratio 0.25, k 32
    assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in tok.modules()) == 2
    cloud = pc.read(np.random.default_rng(0).normal(size=(1500, 3)))  # reader default: 1024 points
    out = tok(pc.collate([cloud, cloud]))
    assert out.tokens.shape == (2, 256, 16) and bool(out.mask.all())
    assert out.extras["centers"].shape == (2, 256, 3)


def test_variable_counts_get_masks_and_eval_is_padding_invariant(pc):
    torch.manual_seed(0)
    tok = pc.build_tokenizer(embed_dim=16, k=8).eval()
    small, big = clouds(pc, [40, 100])
    batch = pc.collate([small, big])
    out = tok(batch)
    assert out.tokens.shape == (2, 25, 16)
    assert out.mask.sum(1).tolist() == [10, 25]
    alone = tok(pc.collate([small]))
    torch.testing.assert_close(out.tokens[0, :10], alone.tokens[0])
    assert bool((out.tokens[0, 10:] == 0).all())


def test_training_statistics_ignore_padding(pc):
    torch.manual_seed(0)
    tok = pc.build_tokenizer(embed_dim=16, k=8).train()
    small, big = clouds(pc, [40, 100])
    batch = pc.collate([small, big])
    wider = PointCloudBatch(
        torch.cat([batch.points, torch.full((2, 30, 3), 50.0)], 1),
        torch.cat([batch.mask, torch.zeros(2, 30, dtype=torch.bool)], 1),
    )
    a, b = tok(batch), tok(wider)
    torch.testing.assert_close(a.tokens, b.tokens)


def test_fixed_number_of_centres_and_too_small_clouds(pc):
    tok = pc.build_tokenizer(embed_dim=16, k=8, num_centers=12)
    out = tok(pc.collate(clouds(pc, [30, 50])))
    assert out.tokens.shape == (2, 12, 16) and bool(out.mask.all())
    with pytest.raises(ValueError, match="point cloud 0 of the batch has 6 points"):
        tok(pc.collate(clouds(pc, [6, 50])))


def test_augmentation_in_training_only(pc):
    torch.manual_seed(0)
    tok = pc.build_tokenizer(embed_dim=16, k=8, augment={"rotate_axis": "z", "jitter": 0.02, "scale": [0.8, 1.25]})
    batch = pc.collate(clouds(pc, [64, 64]))
    tok.eval()
    torch.testing.assert_close(tok(batch).tokens, tok(batch).tokens)
    tok.train()
    assert not torch.allclose(tok(batch).tokens, tok(batch).tokens)


def test_rotation_keeps_norms_and_padding():
    from metaframe_point_cloud import augment_points
    from metaframe_point_cloud.augment import AugmentConfig

    pts = torch.randn(3, 10, 6)
    mask = torch.ones(3, 10, dtype=torch.bool)
    mask[2, 6:] = False
    cfg = AugmentConfig(scale=None, shift=None, jitter=None, rotate_axis="y", normal_columns=3)
    out = augment_points(pts, mask, cfg, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(out[..., :3].norm(dim=-1), pts[..., :3].norm(dim=-1))
    torch.testing.assert_close(out[..., 3:].norm(dim=-1), pts[..., 3:].norm(dim=-1))
    torch.testing.assert_close(out[..., 1], pts[..., 1])  # y untouched by a rotation about y
    assert torch.equal(out[2, 6:], pts[2, 6:])


def test_per_point_features_enter_the_groups(pc):
    tok = pc.build_tokenizer(embed_dim=16, k=8, extra_features=3).eval()
    rng = np.random.default_rng(1)
    cloud = pc.read(rng.normal(size=(40, 6)), num_points=None, features=["normals"])
    batch = pc.collate([cloud])
    changed = PointCloudBatch(batch.points.clone(), batch.mask)
    changed.points[..., 3:] += 1.0
    assert not torch.allclose(tok(batch).tokens, tok(changed).tokens)


def test_gradient_reaches_tokenizer_through_frozen_encoder(pc):
    torch.manual_seed(0)
    encoder = metaframe.FrozenEncoder(embed_dim=32, depth=2, num_heads=2)
    tok = pc.build_tokenizer(embed_dim=32, k=8)
    head = metaframe.build_head("classification", embed_dim=32, num_classes=4, pooling="cls+max+mean")
    model = metaframe.MetaModel(encoder, tokenizers={"point_cloud": tok}, heads={"cls": head}).train()
    batch = pc.collate(clouds(pc, [40, 64]))
    loss = torch.nn.functional.cross_entropy(model({"point_cloud": batch})["cls"], torch.tensor([1, 3]))
    loss.backward()
    assert tok.encoder.first[0].weight.grad is not None and tok.encoder.first[0].weight.grad.abs().sum() > 0
    assert tok.pos_embed[0].weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in encoder.parameters())


def test_examples_and_example_options(pc, tmp_path):
    sources = pc.examples(tmp_path)
    assert len(sources) >= 2
    opts = pc.manifest.example_reader_options
    samples = [pc.read(s, **opts) for s in sources]
    assert len({s.shape[0] for s in samples}) == len(samples)  # different sizes
    tok = pc.build_tokenizer(embed_dim=16, **pc.manifest.example_tokenizer_options)
    assert tok(pc.collate(samples)).tokens.shape[-1] == 16


def test_cli_lists_the_modality():
    result = subprocess.run(
        [sys.executable, "-m", "metaframe", "list-modalities", "--format", "json"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["point_cloud"]["status"] == "ok"
    assert ".pcd" in rows["point_cloud"]["extensions"]


def test_eval_chunking_of_groups_is_exact(pc):
    torch.manual_seed(0)
    tok = pc.build_tokenizer(embed_dim=16, k=8).eval()
    batch = pc.collate(clouds(pc, [40, 100]))
    whole = tok(batch).tokens
    tok.eval_group_chunk = 3
    torch.testing.assert_close(tok(batch).tokens, whole)


def test_padded_groups_never_enter_the_batchnorm(pc):
    tok = pc.build_tokenizer(embed_dim=16, k=8).train()
    seen = []
    tok.encoder.first[1].register_forward_hook(lambda mod, args, out: seen.append(args[0].shape[0]))
    tok(pc.collate(clouds(pc, [40, 100])))  # 10 + 25 real centres, 25 + 25 slots
    assert seen == [(10 + 25) * 8]


def test_cli_encode_files_and_report_a_bad_one(tmp_path):
    rng = np.random.default_rng(0)
    for i, n in enumerate([1100, 1300]):
        np.savetxt(tmp_path / f"cloud{i}.xyz", rng.normal(size=(n, 3)))
    bad = rng.normal(size=(1100, 3))
    bad[5, 0] = np.nan
    np.savetxt(tmp_path / "bad.xyz", bad)
    out = tmp_path / "emb.npy"
    result = subprocess.run(
        [sys.executable, "-m", "metaframe", "encode", "point_cloud", str(tmp_path), "--out", str(out), "--skip-errors", "-q"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 1, result.stderr  # one file failed
    assert np.load(out).shape == (2, 192)
    index = json.loads((tmp_path / "emb.npy.json").read_text())
    assert [p.rsplit("/", 1)[-1] for p in index["rows"]] == ["cloud0.xyz", "cloud1.xyz"]
    assert "bad.xyz" in json.dumps(index["failed"]) and "NaN" in json.dumps(index["failed"])

