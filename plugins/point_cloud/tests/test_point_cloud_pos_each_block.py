"""``add_pos_each_block``: the official model's centre positions before every frozen block."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import metaframe
from metaframe import extras


@pytest.fixture(scope="module")
def pc():
    return metaframe.get_modality("point_cloud")


def _batch(pc, sizes=(40, 64)):
    rng = np.random.default_rng(0)
    return pc.collate([pc.read(rng.normal(size=(n, 3)), num_points=None) for n in sizes])


def _pair(pc, depth_encoder):
    torch.manual_seed(0)
    once = pc.build_tokenizer(embed_dim=depth_encoder.embed_dim, k=8)
    each = pc.build_tokenizer(embed_dim=depth_encoder.embed_dim, k=8, add_pos_each_block=True)
    each.load_state_dict(once.state_dict())
    a = metaframe.MetaModel(depth_encoder, {"point_cloud": once}).eval()
    b = metaframe.MetaModel(depth_encoder, {"point_cloud": each}).eval()
    b.load_state_dict(a.state_dict())
    return a, b


def test_default_adds_positions_once_and_writes_no_block_positions(pc):
    tok = pc.build_tokenizer(embed_dim=16, k=8).eval()
    assert extras.BLOCK_POSITIONS not in tok(_batch(pc)).extras


def test_each_block_leaves_positions_out_of_the_tokens_and_writes_them_for_real_centres(pc):
    torch.manual_seed(0)
    once = pc.build_tokenizer(embed_dim=16, k=8).eval()
    each = pc.build_tokenizer(embed_dim=16, k=8, add_pos_each_block=True).eval()
    each.load_state_dict(once.state_dict())
    with torch.no_grad():
        a, b = once(_batch(pc)), each(_batch(pc))
    pos = b.extras[extras.BLOCK_POSITIONS]
    assert pos.shape == b.tokens.shape
    torch.testing.assert_close(b.tokens + pos, a.tokens)  # same sum, split in two
    assert bool((pos[~b.mask] == 0).all()) and bool((pos[b.mask] != 0).any())


def test_one_block_gives_the_same_output_and_more_blocks_differ(pc):
    """Block 0's input is tokens + positions either way; only later blocks see them again."""
    one = metaframe.FrozenEncoder(16, 1, 2)
    a, b = _pair(pc, one)
    batch = _batch(pc)
    with torch.no_grad():
        torch.testing.assert_close(b.encode({"point_cloud": batch}).tokens, a.encode({"point_cloud": batch}).tokens)
    deep = metaframe.FrozenEncoder(16, 3, 2)
    a, b = _pair(pc, deep)
    with torch.no_grad():
        ya, yb = a.encode({"point_cloud": batch}), b.encode({"point_cloud": batch})
    real = ya.mask
    assert not torch.allclose(ya.tokens[real], yb.tokens[real], atol=1e-4)


def test_eval_output_of_a_cloud_does_not_depend_on_its_batch(pc):
    enc = metaframe.FrozenEncoder(16, 2, 2)
    _, model = _pair(pc, enc)
    small, both = _batch(pc, (40,)), _batch(pc, (40, 64))
    with torch.no_grad():
        alone = model.encode({"point_cloud": small}).tokens[0, :11]
        mixed = model.encode({"point_cloud": both}).tokens[0, :11]
    torch.testing.assert_close(alone, mixed, rtol=1e-4, atol=1e-4)


def test_training_step_reaches_the_position_mlp(pc):
    enc = metaframe.FrozenEncoder(16, 2, 2)
    torch.manual_seed(0)
    tok = pc.build_tokenizer(embed_dim=16, k=8, add_pos_each_block=True)
    model = metaframe.MetaModel(enc, {"point_cloud": tok}, {"cls": metaframe.build_head("classification", embed_dim=16, num_classes=3)})
    logits = model({"point_cloud": _batch(pc)})["cls"]
    torch.nn.functional.cross_entropy(logits, torch.tensor([0, 2])).backward()
    assert tok.pos_embed[0].weight.grad is not None and tok.pos_embed[0].weight.grad.abs().sum() > 0
