"""Token merging in the frozen encoder: off is bitwise the plain encoder, mask-aware, unmerged outputs,
with every schedule (constant, decreasing, a per-block list)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import metaframe
from metaframe import FrozenEncoder, MetaModel
from metaframe.encoder_bert import PostLNBlock
from metaframe.encoder_none import NoEncoder
from metaframe.merging import TokenMerging, TokenMergingError, encoder_flops, merged_forward, merged_token_counts
from toy_tokenizers import LengthsTokenizer

D = 32


@pytest.fixture
def encoder() -> FrozenEncoder:
    torch.manual_seed(0)
    return FrozenEncoder(embed_dim=D, depth=3, num_heads=4)


def batch_of(*samples: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    values, mask = metaframe.pad_sequences(list(samples))
    return values, mask.sum(1)


def make_model(encoder: FrozenEncoder) -> MetaModel:
    torch.manual_seed(1)
    heads = {
        "cls": metaframe.build_head("classification", embed_dim=D, num_classes=3, pooling="cls+max+mean"),
        "tokens": metaframe.build_head("token", embed_dim=D, out_features=2, modality="a"),
    }
    return MetaModel(encoder, {"a": LengthsTokenizer(D), "b": LengthsTokenizer(D)}, heads)


def test_r_zero_is_bitwise_the_plain_encoder(encoder: FrozenEncoder) -> None:
    x, mask = torch.randn(2, 21, D), torch.ones(2, 21, dtype=torch.bool)
    mask[1, 15:] = False
    plain = encoder(x, mask)
    assert torch.equal(encoder(x, mask, token_merging=TokenMerging(r=0)), plain)
    assert torch.equal(encoder(x, mask, token_merging=TokenMerging(ratio=0.0)), plain)
    model = make_model(encoder).eval()
    inputs = {"a": batch_of(torch.randn(7, 3), torch.randn(4, 3)), "b": batch_of(torch.randn(5, 3), torch.randn(9, 3))}
    before = model(inputs)
    model.token_merging = TokenMerging(r=0)
    after = model(inputs)
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_merging_exact_duplicates_changes_nothing_thanks_to_proportional_attention(encoder: FrozenEncoder) -> None:
    # [CLS] then pairs of identical tokens at (B, A) positions: every merge joins two copies
    base = torch.randn(1, 13, D)
    dup = torch.cat([base[:, :1], base[:, 1:].repeat_interleave(2, dim=1)], dim=1)  # 25 tokens, 12 pairs
    plain = encoder(dup)
    merged = encoder(dup, token_merging=TokenMerging(r=4))  # 3 blocks × 4 = the 12 pairs
    assert merged.shape == plain.shape
    assert torch.allclose(merged, plain, atol=1e-5)
    # without the log(size) bias the merged copies would count once, not twice: the outputs would differ
    assert not torch.allclose(encoder(dup, token_merging=TokenMerging(r=6)), plain, atol=1e-3)


SCHEDULES = [TokenMerging(r=5), TokenMerging(r=5, schedule="decreasing"), TokenMerging(r=(9, 4, 1)),
             TokenMerging(ratio=0.8, schedule="decreasing")]


@pytest.mark.parametrize("merging", SCHEDULES, ids=lambda m: m.describe())
def test_real_tokens_do_not_depend_on_padding_even_when_padding_copies_them(encoder: FrozenEncoder,
                                                                           merging: TokenMerging) -> None:
    real = torch.randn(1, 31, D)
    if merging.ratio is not None:  # a ratio is taken of the padded length: compare at the r it gives there
        merging = TokenMerging(r=tuple(merging.per_block(31 + 13, 3)))
    alone = encoder(real, token_merging=merging)
    # the same sample with padding inside and after it (a joint sequence); padded tokens copy real ones,
    # so a padded token would be the best match of a real one if padding could merge with real tokens
    x = torch.cat([real[:, :20], real[:, 1:8], real[:, 20:], real[:, 3:9]], dim=1)
    mask = torch.ones(1, x.shape[1], dtype=torch.bool)
    mask[:, 20:27] = False
    mask[:, -6:] = False
    other = torch.randn(1, x.shape[1], D)
    out = encoder(torch.cat([x, other]), torch.cat([mask, torch.ones_like(mask)]), token_merging=merging)
    assert out.shape == (2, x.shape[1], D)
    assert torch.allclose(out[0, mask[0]], alone[0], atol=1e-5)


@pytest.mark.parametrize("merging", [TokenMerging(r=1), TokenMerging(r=(7, 0, 0)), TokenMerging(r=3, schedule="decreasing")],
                         ids=lambda m: m.describe())
def test_cls_is_never_merged(encoder: FrozenEncoder, merging: TokenMerging) -> None:
    x = torch.randn(1, 15, D)
    near = x.clone()
    near[:, 1] = x[:, 0] + 1e-3 * torch.randn(D)  # token 1 (set B) nearly copies [CLS] (set A): the best pair there is
    out = encoder(near, token_merging=merging)  # (7, 0, 0): every A token but [CLS] merges in block 0
    assert not torch.equal(out[0, 0], out[0, 1])
    assert not (out[0, 1:] == out[0, :1]).all(dim=-1).any()
    near = x.clone()
    near[:, 2] = x[:, 1] + 1e-3 * torch.randn(D)  # the same pair one step on: tokens 1 and 2 merge, share one output
    out = encoder(near, token_merging=TokenMerging(r=1))
    assert torch.equal(out[0, 1], out[0, 2])


def test_model_heads_keep_their_shapes_and_padding_invariance(encoder: FrozenEncoder) -> None:
    model = make_model(encoder).eval()
    model.token_merging = TokenMerging(r=2)
    a, b = torch.randn(9, 3), torch.randn(6, 3)
    alone = model({"a": batch_of(a), "b": batch_of(b)})
    padded = model({"a": batch_of(a, torch.randn(14, 3)), "b": batch_of(b, torch.randn(11, 3))})
    assert padded["tokens"].shape == (2, 14, 2)
    assert torch.allclose(padded["cls"][0], alone["cls"][0], atol=1e-5)
    assert torch.allclose(padded["tokens"][0, :9], alone["tokens"][0], atol=1e-5)
    model.token_merging = None
    assert not torch.allclose(model({"a": batch_of(a), "b": batch_of(b)})["cls"], alone["cls"], atol=1e-4)


def test_gradients_reach_the_tokenizers_through_merged_blocks(encoder: FrozenEncoder) -> None:
    model = make_model(encoder).train()
    model.token_merging = TokenMerging(ratio=0.5)
    inputs = {"a": batch_of(torch.randn(12, 3), torch.randn(8, 3)), "b": batch_of(torch.randn(10, 3), torch.randn(10, 3))}
    out = model(inputs)
    loss = nn.functional.cross_entropy(out["cls"], torch.tensor([0, 2])) + out["tokens"].pow(2).mean()
    loss.backward()
    grad = model.tokenizers["a"].proj.weight.grad
    assert grad is not None and grad.abs().sum() > 0
    assert all(p.grad is None for p in encoder.parameters())


def test_gradient_checkpointing_gives_the_same_outputs_and_gradients(encoder: FrozenEncoder) -> None:
    x = torch.randn(2, 19, D, requires_grad=True)
    mask = torch.ones(2, 19, dtype=torch.bool)
    mask[0, 12:] = False
    out = encoder(x, mask, token_merging=TokenMerging(r=3))
    (grad,) = torch.autograd.grad(out[mask].sum(), x)
    encoder.gradient_checkpointing = True
    out_ckpt = encoder(x, mask, token_merging=TokenMerging(r=3))
    (grad_ckpt,) = torch.autograd.grad(out_ckpt[mask].sum(), x)
    assert torch.allclose(out, out_ckpt) and torch.allclose(grad, grad_ckpt)


def test_refusals_name_the_block_type_and_the_option(encoder: FrozenEncoder) -> None:
    bert = FrozenEncoder(D, 1, 4, blocks=[PostLNBlock(D, 4, 64, 1e-12)], backend="bert")
    with pytest.raises(TokenMergingError, match=r"encoder\.token_merging: block 0 is a PostLNBlock"):
        bert(torch.randn(1, 5, D), token_merging=TokenMerging(r=1))
    model = MetaModel(NoEncoder(D), {"a": LengthsTokenizer(D)})
    model.token_merging = TokenMerging(r=1)
    with pytest.raises(TokenMergingError, match=r"encoder\.token_merging: the NoEncoder encoder"):
        model.encode({"a": batch_of(torch.randn(4, 3))})
    with pytest.raises(TokenMergingError, match="per-block hooks"):
        encoder(torch.randn(1, 5, D), before_block=lambda i, x: x, token_merging=TokenMerging(r=1))

    class Hooked(MetaModel):
        def block_hooks(self, batches, segments):  # type: ignore[no-untyped-def]
            return [lambda i, x: x]

    hooked = Hooked(encoder, {"a": LengthsTokenizer(D)})
    hooked.token_merging = TokenMerging(r=1)
    with pytest.raises(TokenMergingError, match=r"encoder\.token_merging: cannot be combined with this run's 1"):
        hooked.encode({"a": batch_of(torch.randn(4, 3))})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"r": -1}, r"token_merging\.r: expected an integer >= 0"), ({"ratio": 1.0}, r"token_merging\.ratio"),
     ({"r": 2, "ratio": 0.5}, "give r or ratio, not both"),
     ({"r": 2, "schedule": "fast"}, r"token_merging\.schedule: expected one of constant, decreasing"),
     ({"r": (2, -1)}, r"token_merging\.r: expected one integer >= 0 per block"),
     ({"r": (2, 1), "schedule": "decreasing"}, "r lists every block's count")],
)
def test_bad_settings_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TokenMerging(**kwargs)


def test_ratio_schedule_counts_and_flops() -> None:
    assert TokenMerging(ratio=0.5).per_block(197, 12) == [9, 9] + [8] * 10  # 98 tokens in all
    assert TokenMerging(r=8).per_block(197, 12) == [8] * 12
    counts = merged_token_counts(197, 12, TokenMerging(r=8))
    assert counts[0] == (197, 189) and counts[-1] == (109, 101)
    assert merged_token_counts(9, 3, TokenMerging(r=8)) == [(9, 5), (5, 3), (3, 2)]  # capped: A holds [CLS]
    plain = encoder_flops(197, 192, 12, 4.0, None)
    assert encoder_flops(197, 192, 12, 4.0, TokenMerging(r=0)) == plain
    assert plain / encoder_flops(197, 192, 12, 4.0, TokenMerging(r=16)) > 2.0


def test_capped_r_merges_what_every_sample_can(encoder: FrozenEncoder) -> None:
    x = torch.randn(2, 9, D)
    mask = torch.ones(2, 9, dtype=torch.bool)
    mask[1, 3:] = False  # 3 real tokens: one real A token besides [CLS] can merge; padding merges with padding
    out = merged_forward(encoder.blocks, x, mask, TokenMerging(r=50))
    assert out.shape == x.shape and torch.isfinite(out).all()
    alone = merged_forward(encoder.blocks, x[1:, :3], None, TokenMerging(r=50))
    assert torch.allclose(out[1, :3], alone[0], atol=1e-5)


def test_decreasing_schedule_merges_the_same_total_earlier_and_passes_two_times_fewer_flops() -> None:
    steps = TokenMerging(ratio=0.9, schedule="decreasing").per_block(1213, 12)
    assert sum(steps) == 1090 == sum(TokenMerging(ratio=0.9).per_block(1213, 12))  # floor(0.9 * 1212)
    assert steps == sorted(steps, reverse=True) and steps[0] >= 2 * 1090 / 13 - 1 and steps[-1] <= 1090 / 78 + 1
    assert sum(TokenMerging(r=8, schedule="decreasing").per_block(197, 12)) == 96
    assert TokenMerging(r=5, schedule="decreasing").per_block(31, 3) == [8, 5, 2]  # 7.5, 5, 2.5: ties to the earliest
    plain = encoder_flops(1213, 768, 12, 4.0, None)
    # the same r in every block cannot pass ~2.1x (the first block sees every token); merging early can
    assert plain / encoder_flops(1213, 768, 12, 4.0, TokenMerging(ratio=0.97)) < 2.2
    assert plain / encoder_flops(1213, 768, 12, 4.0, TokenMerging(ratio=0.9, schedule="decreasing")) > 2.2
    counts = merged_token_counts(1213, 12, TokenMerging(r=tuple([200] + [0] * 11)))
    assert counts[0] == (1213, 1013) and counts[-1] == (1013, 1013)


def test_per_block_list_must_match_the_depth(encoder: FrozenEncoder) -> None:
    with pytest.raises(TokenMergingError, match=r"token_merging\.r: 2 per-block counts for an encoder of 3 blocks"):
        encoder(torch.randn(1, 9, D), token_merging=TokenMerging(r=(1, 1)))
    assert not TokenMerging(r=(0, 0, 0)).active
    assert torch.equal(encoder(torch.randn(1, 9, D).fill_(0.5), token_merging=TokenMerging(r=(0, 0, 0))),
                       encoder(torch.randn(1, 9, D).fill_(0.5)))


def test_config_and_cli_give_the_schedule() -> None:
    from metaframe.cli.evaluate import token_merging_arg
    from metaframe.engine.config import EncoderConfig
    from metaframe.merging import as_token_merging

    config = EncoderConfig(token_merging={"ratio": 0.9, "schedule": "decreasing"})
    assert as_token_merging(config.token_merging) == TokenMerging(ratio=0.9, schedule="decreasing")
    assert as_token_merging(EncoderConfig(token_merging={"r": [4, 2, 0]}).token_merging) == TokenMerging(r=(4, 2, 0))
    with pytest.raises(ValueError, match="leave schedule out"):
        EncoderConfig(token_merging={"r": [4, 2], "schedule": "decreasing"})
    with pytest.raises(ValueError, match="schedule"):
        EncoderConfig(token_merging={"r": 4, "schedule": "fast"})
    assert token_merging_arg("0.9:decreasing") == TokenMerging(ratio=0.9, schedule="decreasing")
    assert token_merging_arg("8:decreasing") == TokenMerging(r=8, schedule="decreasing")
    assert token_merging_arg("8") == TokenMerging(r=8)
