"""``extras[BLOCK_POSITIONS]``: a tokenizer's positions reach every frozen block at its own segment."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import metaframe
from metaframe import extras
from metaframe.block_positions import block_positions_hook, joint_block_positions
from metaframe.tokens import TokenBatch


class Fixed(nn.Module):
    """A tokenizer returning given tokens (and, optionally, per-block positions)."""

    def __init__(self, tokens: torch.Tensor, positions: torch.Tensor | None = None, mask: torch.Tensor | None = None):
        super().__init__()
        self.embed_dim = tokens.shape[-1]
        self.tokens, self.positions, self.mask = tokens, positions, mask

    def forward(self, _: object) -> TokenBatch:
        out = {} if self.positions is None else {extras.BLOCK_POSITIONS: self.positions}
        return TokenBatch(self.tokens, self.mask, out)


@pytest.fixture(scope="module")
def encoder():
    return metaframe.FrozenEncoder.from_preset("tiny", seed=0)


def _record_block_inputs(encoder, model, inputs):
    seen: list[torch.Tensor] = []
    handles = [b.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone())) for b in encoder.blocks]
    try:
        with torch.no_grad():
            model.encode(inputs)
    finally:
        for h in handles:
            h.remove()
    return seen


def test_positions_are_added_before_every_block_at_the_modality_segment_only(encoder):
    d = encoder.embed_dim
    torch.manual_seed(0)
    a_tokens, b_tokens, pos = torch.randn(2, 3, d), torch.randn(2, 4, d), torch.randn(2, 4, d)
    plain = metaframe.MetaModel(encoder, {"a": Fixed(a_tokens), "b": Fixed(b_tokens)}).eval()
    with_pos = metaframe.MetaModel(encoder, {"a": Fixed(a_tokens), "b": Fixed(b_tokens, pos)}).eval()
    with_pos.load_state_dict(plain.state_dict())
    inputs = {"a": None, "b": None}
    before = _record_block_inputs(encoder, plain, inputs)[0]
    seen = _record_block_inputs(encoder, with_pos, inputs)
    assert len(seen) == encoder.depth
    # block 0: [CLS] and modality a untouched, b's tokens + its positions
    torch.testing.assert_close(seen[0][:, :4], before[:, :4])
    torch.testing.assert_close(seen[0][:, 4:], before[:, 4:] + pos)
    # every later block sees the positions again: its input differs from the previous block's output
    out_1 = encoder.blocks[0](seen[0])
    torch.testing.assert_close(seen[1][:, 4:], out_1[:, 4:] + pos)
    torch.testing.assert_close(seen[1][:, :4], out_1[:, :4])


def test_padded_tokens_get_no_position_and_segments_are_respected():
    tokens = torch.zeros(1, 3, 2)
    mask = torch.tensor([[True, True, False]])
    pos = torch.ones(1, 3, 2)
    tb = TokenBatch(tokens, mask, {extras.BLOCK_POSITIONS: pos})
    joint = joint_block_positions({"m": tb}, {"m": slice(2, 5)}, length=6)  # e.g. [CLS] + one prompt before it
    assert joint is not None and joint.shape == (1, 6, 2)
    assert joint[0, :, 0].tolist() == [0, 0, 1, 1, 0, 0]


def test_no_positions_no_hook_and_a_wrong_shape_is_named():
    tb = TokenBatch(torch.zeros(1, 3, 2))
    assert block_positions_hook({"m": tb}, {"m": slice(1, 4)}) is None
    bad = TokenBatch(torch.zeros(1, 3, 2), None, {extras.BLOCK_POSITIONS: torch.zeros(1, 2, 2)})
    hook = block_positions_hook({"m": bad}, {"m": slice(1, 4)})
    assert hook is not None
    with pytest.raises(ValueError, match=r"tokenizer 'm': extras\['block_positions'\] must be"):
        hook(0, torch.zeros(1, 4, 2))


def test_gradients_reach_the_positions(encoder):
    d = encoder.embed_dim
    pos = torch.randn(2, 4, d, requires_grad=True)
    model = metaframe.MetaModel(encoder, {"b": Fixed(torch.randn(2, 4, d), pos)})
    model.encode({"b": None}).tokens.sum().backward()
    assert pos.grad is not None and pos.grad.abs().sum() > 0


def test_the_none_encoder_refuses_per_block_positions_by_name():
    """No blocks, no hook: one line naming the option and the encoder, not a TypeError from forward."""
    from metaframe_registry import ConfigError

    d = 16
    none = metaframe.build_encoder("none", embed_dim=d)
    tokens = torch.randn(2, 3, d)
    plain = metaframe.MetaModel(none, {"a": Fixed(tokens)}).eval()
    assert plain.encode({"a": None}).tokens.shape == (2, 4, d)  # without the option it runs
    model = metaframe.MetaModel(none, {"a": Fixed(tokens, torch.randn(2, 3, d))}).eval()
    with pytest.raises(ConfigError, match=r"^modalities\.a\.tokenizer\.add_pos_each_block: acts before every block "
                       r"of the frozen encoder, but encoder 'none' \(NoEncoder\) has no blocks to hook"):
        model.encode({"a": None})
