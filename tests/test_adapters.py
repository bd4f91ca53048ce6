"""LoRA adapters on the shared frozen encoder: no-op when fresh, per-model, never left installed, mergeable."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import metaframe
from metaframe import FrozenEncoder, MetaModel, TokenBatch
from metaframe.adapters import LoRAAdapters, find_targets, merge_adapters
from metaframe_registry import ConfigError

D = 32


class Seq(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed_dim = D
        self.proj = nn.Linear(3, D)

    def forward(self, values: torch.Tensor) -> TokenBatch:
        return TokenBatch(self.proj(values), torch.ones(values.shape[:2], dtype=torch.bool))


@pytest.fixture
def encoder() -> FrozenEncoder:
    torch.manual_seed(0)
    return FrozenEncoder(embed_dim=D, depth=2, num_heads=4)


def model_with(encoder: nn.Module, adapters: LoRAAdapters | None, seed: int = 1) -> MetaModel:
    torch.manual_seed(seed)
    head = metaframe.build_head("classification", embed_dim=D, num_classes=3, pooling="mean")
    return MetaModel(encoder, {"seq": Seq()}, {"y": head}, adapters=adapters).eval()


def randomise(adapters: LoRAAdapters, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in adapters.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.2)


def test_fresh_adapter_changes_nothing(encoder: FrozenEncoder) -> None:
    x = torch.randn(2, 5, 3)
    plain = model_with(encoder, None)
    adapted = model_with(encoder, LoRAAdapters(encoder, rank=4, targets=["qkv", "proj", "fc1", "fc2"]))
    adapted.load_trainable_state_dict({k: v for k, v in plain.trainable_state_dict().items()}, strict=False)
    assert torch.equal(plain({"seq": x})["y"], adapted({"seq": x})["y"])


@pytest.mark.parametrize(("rank", "targets"), [(8, ["qkv", "proj"]), (2, ["fc1", "fc2"]), (3, ["qkv"])])
def test_parameter_count_is_rank_times_in_plus_out(encoder: FrozenEncoder, rank: int, targets: list[str]) -> None:
    # tiny ViT block: qkv D→3D, proj D→D, fc1 D→4D, fc2 4D→D
    sizes = {"qkv": D + 3 * D, "proj": 2 * D, "fc1": D + 4 * D, "fc2": 4 * D + D}
    adapters = LoRAAdapters(encoder, rank=rank, targets=targets)
    assert adapters.num_parameters() == encoder.depth * sum(rank * sizes[t] for t in targets)
    model = model_with(encoder, adapters)
    assert model.parameter_counts()["adapters"] == adapters.num_parameters()


def test_two_models_share_one_encoder_with_their_own_adapters(encoder: FrozenEncoder) -> None:
    sha = encoder.weights_sha256()
    a, b = LoRAAdapters(encoder, rank=4), LoRAAdapters(encoder, rank=2, targets=["fc1"])
    randomise(a, 1)
    randomise(b, 2)
    ma, mb, plain = model_with(encoder, a), model_with(encoder, b), model_with(encoder, None)
    x = torch.randn(2, 5, 3)
    first_a, first_b, first_plain = ma({"seq": x})["y"], mb({"seq": x})["y"], plain({"seq": x})["y"]
    assert not torch.allclose(first_a, first_b) and not torch.allclose(first_a, first_plain)
    for _ in range(2):  # interleaved calls give each model its own output every time
        assert torch.equal(mb({"seq": x})["y"], first_b)
        assert torch.equal(plain({"seq": x})["y"], first_plain)
        assert torch.equal(ma({"seq": x})["y"], first_a)
    assert all(not m._forward_hooks for m in encoder.modules())  # nothing left installed
    assert encoder.weights_sha256() == sha and encoder.identity.sha256 == sha


def test_hooks_removed_after_an_exception(encoder: FrozenEncoder) -> None:
    adapters = LoRAAdapters(encoder, rank=2)
    with pytest.raises(RuntimeError, match="boom"):
        with adapters.applied(encoder):
            assert any(m._forward_hooks for m in encoder.modules())
            raise RuntimeError("boom")
    assert all(not m._forward_hooks for m in encoder.modules())


def test_training_moves_adapters_not_the_base(encoder: FrozenEncoder) -> None:
    base = {k: v.clone() for k, v in encoder.state_dict().items()}
    adapters = LoRAAdapters(encoder, rank=2)
    model = model_with(encoder, adapters).train()
    opt = torch.optim.SGD(list(model.trainable_parameters()), lr=0.1)
    before = {k: v.clone() for k, v in adapters.state_dict().items()}
    for _ in range(3):
        loss = model({"seq": torch.randn(4, 5, 3)})["y"].logsumexp(-1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert any(not torch.equal(before[k], v) for k, v in adapters.state_dict().items())
    assert all(torch.equal(base[k], v) for k, v in encoder.state_dict().items())
    assert all(k.startswith("adapters.") for k in model.trainable_state_dict() if "lora" in k)


def test_merged_copy_matches_adapted_model(encoder: FrozenEncoder) -> None:
    adapters = LoRAAdapters(encoder, rank=4, targets=["qkv", "proj", "fc1", "fc2"])
    randomise(adapters, 3)
    model = model_with(encoder, adapters)
    sha = encoder.weights_sha256()
    merged = merge_adapters(model)
    plain = model_with(merged, None)
    plain.load_trainable_state_dict({k: v for k, v in model.trainable_state_dict().items() if not k.startswith("adapters.")})
    x = torch.randn(2, 6, 3)
    assert torch.allclose(plain({"seq": x})["y"], model({"seq": x})["y"], atol=1e-5)
    assert merged.weights_sha256() != sha and encoder.weights_sha256() == sha


def test_unknown_target_names_the_field_and_what_the_encoder_has(encoder: FrozenEncoder) -> None:
    with pytest.raises(ConfigError, match=r"encoder\.adapters\.targets: .*qkv, proj, fc1, fc2"):
        LoRAAdapters(encoder, targets=["query"])

    class NoBlocks(nn.Module):
        blocks = nn.Sequential(nn.LayerNorm(D))

    with pytest.raises(ConfigError, match=r"encoder\.adapters\.targets: qkv — .*no linear layers"):
        find_targets(NoBlocks(), ["qkv"])


def test_activation_checkpointing_is_refused(encoder: FrozenEncoder) -> None:
    model = model_with(encoder, LoRAAdapters(encoder, rank=2)).train()
    encoder.gradient_checkpointing = True
    with pytest.raises(ConfigError, match="activation_checkpointing"):
        model({"seq": torch.randn(1, 3, 3)})
    assert all(not m._forward_hooks for m in encoder.modules())


def test_adapters_apply_under_token_merging(encoder: FrozenEncoder) -> None:
    from metaframe.merging import TokenMerging

    adapters = LoRAAdapters(encoder, rank=2)
    randomise(adapters, 4)
    adapted, plain = model_with(encoder, adapters), model_with(encoder, None)
    x = torch.randn(2, 8, 3)
    for m in (adapted, plain):
        m.token_merging = TokenMerging(r=2)
    assert not torch.allclose(adapted({"seq": x})["y"], plain({"seq": x})["y"])
    with torch.no_grad():
        for name, p in adapters.named_parameters():
            if name.endswith(".B"):
                p.zero_()
    assert torch.equal(adapted({"seq": x})["y"], plain({"seq": x})["y"])
