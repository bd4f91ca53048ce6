"""Prompt tuning (VPT shallow / deep): prompts reach the encoder, heads and segments see no prompt slots."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import metaframe
from metaframe import FrozenEncoder, MetaModel
from metaframe.prompts import Prompts
from metaframe_registry import ConfigError
from toy_tokenizers import LengthsTokenizer

D = 32


class Recorder(FrozenEncoder):
    """Records every block's input (what the prompts did to it)."""

    def forward(self, tokens, mask=None, **kwargs):  # type: ignore[no-untyped-def, override]
        self.seen = {"tokens": tokens, "mask": mask, "blocks": []}
        hook = kwargs.get("before_block")

        def record(i: int, x: torch.Tensor) -> torch.Tensor:
            x = hook(i, x) if hook is not None else x
            self.seen["blocks"].append(x.detach().clone())
            return x

        return super().forward(tokens, mask, before_block=record, token_merging=kwargs.get("token_merging"))


@pytest.fixture
def encoder() -> Recorder:
    torch.manual_seed(0)
    return Recorder(embed_dim=D, depth=3, num_heads=4)


def model_with(encoder: nn.Module, prompts: Prompts | None) -> MetaModel:
    torch.manual_seed(1)
    heads = {
        "y": metaframe.build_head("classification", embed_dim=D, num_classes=3, pooling="mean"),
        "tok": metaframe.build_head("token", embed_dim=D, out_features=2, modality="seq"),
    }
    return MetaModel(encoder, {"seq": LengthsTokenizer(D)}, heads, prompts=prompts).eval()


def batch(*lengths: int) -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(5)
    return torch.randn(len(lengths), max(lengths), 3), torch.tensor(lengths)


@pytest.mark.parametrize("deep", [False, True])
def test_prompts_enter_the_encoder_but_not_the_outputs(encoder: Recorder, deep: bool) -> None:
    prompts = Prompts(D, num_tokens=4, deep=deep, depth=encoder.depth)
    model = model_with(encoder, prompts)
    x = batch(5, 3)
    encoded = model.encode({"seq": x})
    seen = encoder.seen
    assert seen["tokens"].shape[1] == 1 + 4 + 5
    assert torch.equal(seen["tokens"][0, 1:5], prompts.tokens[0].detach())
    assert bool(seen["mask"][:, :5].all()) and seen["mask"][1, 5:].tolist() == [True] * 3 + [False] * 2
    for i, x_in in enumerate(seen["blocks"][1:], start=1):  # deep: block i gets its own prompts
        if deep:
            assert torch.equal(x_in[0, 1:5], prompts.tokens[i].detach())
        else:  # shallow: the prompt slots carry what the blocks before made of them
            assert not torch.allclose(x_in[0, 1:5], prompts.tokens[0].detach())
    assert encoded.tokens.shape[1] == 1 + 5 and encoded.segments == {"seq": slice(1, 6)}
    assert encoded.mask[1].tolist() == [True] * 4 + [False] * 2
    assert model({"seq": x})["tok"].shape == (2, 5, 2)


@pytest.mark.parametrize("deep", [False, True])
def test_prompts_change_the_output_and_learn(encoder: Recorder, deep: bool) -> None:
    x = batch(4, 4)
    plain = model_with(encoder, None)({"seq": x})["y"]
    model = model_with(encoder, Prompts(D, num_tokens=2, deep=deep, depth=encoder.depth))
    assert not torch.allclose(model({"seq": x})["y"], plain)
    model.train()
    model({"seq": x})["y"].sum().backward()
    grad = model.prompts.tokens.grad
    assert grad is not None and bool((grad[0] != 0).any())
    if deep:  # every block's prompts get a gradient (the last block's reach the [CLS]-free mean too)
        assert all(bool((grad[i] != 0).any()) for i in range(encoder.depth))
    assert model.parameter_counts()["prompts"] == (encoder.depth if deep else 1) * 2 * D


def test_prompts_keep_padding_invariance(encoder: Recorder) -> None:
    model = model_with(encoder, Prompts(D, num_tokens=3, deep=True, depth=encoder.depth))
    alone = model({"seq": batch(3)})
    values, _ = batch(3)
    padded_values = torch.cat([values, torch.randn(1, 3, 3)], dim=0)
    padded_values = torch.cat([padded_values, torch.randn(2, 4, 3)], dim=1)
    padded = model({"seq": (padded_values, torch.tensor([3, 7]))})
    assert torch.allclose(padded["y"][0], alone["y"][0], atol=1e-5)


def test_saved_with_the_trainable_parts(encoder: Recorder) -> None:
    model = model_with(encoder, Prompts(D, num_tokens=2, deep=True, depth=encoder.depth))
    state = model.trainable_state_dict()
    assert "prompts.tokens" in state and state["prompts.tokens"].shape == (3, 2, D)
    other = model_with(encoder, Prompts(D, num_tokens=2, deep=True, depth=encoder.depth))
    other.load_trainable_state_dict(state)
    assert torch.equal(other.prompts.tokens, model.prompts.tokens)


def test_bad_sizes_name_the_field() -> None:
    with pytest.raises(ConfigError, match=r"encoder\.prompts\.num_tokens: 0"):
        Prompts(D, num_tokens=0)
