"""MetaModel composition: joint sequences, frozen encoder, padding invariance, heads."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import metaframe
from metaframe import EncodedBatch, FrozenEncoder, MetaModel, TokenBatch

D = 32


class VarLen(nn.Module):
    """A variable-length test tokenizer: batch = (values [B, L, 3], lengths [B])."""

    def __init__(self, embed_dim: int = D) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.proj = nn.Linear(3, embed_dim)
        self.pos = nn.Parameter(torch.randn(1, 64, embed_dim) * 0.02)

    def forward(self, batch: tuple[torch.Tensor, torch.Tensor]) -> TokenBatch:
        values, lengths = batch
        mask = torch.arange(values.shape[1])[None] < lengths[:, None]
        return TokenBatch(self.proj(values) + self.pos[:, : values.shape[1]], mask)


def collate(samples: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    values, mask = metaframe.pad_sequences(samples)
    return values, mask.sum(1)


@pytest.fixture
def encoder() -> FrozenEncoder:
    torch.manual_seed(0)
    return FrozenEncoder(embed_dim=D, depth=2, num_heads=4)


def make_model(encoder: FrozenEncoder, pooling: str = "cls") -> MetaModel:
    torch.manual_seed(1)
    heads = {
        "cls": metaframe.build_head("classification", embed_dim=D, num_classes=3, pooling=pooling),
        "tokens": metaframe.build_head("token", embed_dim=D, out_features=2, modality="seq"),
    }
    return MetaModel(encoder, {"seq": VarLen(), "img": metaframe.build_tokenizer("image", embed_dim=D, image_size=16, patch_size=8)}, heads)


@pytest.mark.parametrize("pooling", ["cls", "mean", "max", "cls+max+mean"])
def test_padding_invariance(encoder: FrozenEncoder, pooling: str) -> None:
    model = make_model(encoder, pooling).eval()
    short = torch.randn(3, 3)
    alone = model({"seq": collate([short])})
    padded = model({"seq": collate([short, torch.randn(11, 3)])})
    assert torch.allclose(padded["cls"][0], alone["cls"][0], atol=1e-5)
    assert torch.allclose(padded["tokens"][0, :3], alone["tokens"][0], atol=1e-5)
    assert padded["tokens"][0, 3:].abs().sum() == 0  # padding rows are zero


def test_joint_sequence_and_segments(encoder: FrozenEncoder) -> None:
    model = make_model(encoder).eval()
    seq = collate([torch.randn(5, 3), torch.randn(2, 3)])
    img = torch.randn(2, 3, 16, 16)
    encoded: EncodedBatch = model.encode({"img": img, "seq": seq})  # order of the dict does not matter
    assert list(encoded.segments) == ["seq", "img"]  # the tokenizers' order
    assert encoded.segments["seq"] == slice(1, 6) and encoded.segments["img"] == slice(6, 10)
    assert encoded.tokens.shape == (2, 10, D)
    assert encoded.mask[1].tolist() == [True, True, True, False, False, False, True, True, True, True]
    out = model({"seq": seq, "img": img})
    assert out["cls"].shape == (2, 3) and out["tokens"].shape == (2, 5, 2)
    # a single modality works too, and the joint output differs from it (image tokens are attended)
    seq_only = model({"seq": seq})["cls"]
    assert not torch.allclose(seq_only, out["cls"])


def test_only_tokenizers_embeddings_and_heads_train(encoder: FrozenEncoder) -> None:
    model = make_model(encoder)
    model.train()
    assert not encoder.training
    out = model({"seq": collate([torch.randn(4, 3)]), "img": torch.randn(1, 3, 16, 16)})
    (out["cls"].sum() + out["tokens"].sum()).backward()
    assert all(p.grad is None for p in encoder.parameters())
    for name in ("tokenizers.seq.proj.weight", "tokenizers.img.proj.weight", "cls_token", "modality_embed.seq", "norm.weight", "heads.cls.mlp.0.weight"):
        assert dict(model.named_parameters())[name].grad is not None, name
    trainable = {id(p) for p in model.trainable_parameters()}
    assert not trainable & {id(p) for p in encoder.parameters()}
    assert not any(k.startswith("encoder.") for k in model.trainable_state_dict())


def test_trainable_state_round_trip(encoder: FrozenEncoder) -> None:
    model = make_model(encoder).eval()
    state = model.trainable_state_dict()
    other = make_model(encoder).eval()
    torch.nn.init.zeros_(other.cls_token)
    other.load_trainable_state_dict(state)
    x = {"seq": collate([torch.randn(4, 3)])}
    assert torch.equal(model(x)["cls"], other(x)["cls"])
    with pytest.raises(KeyError, match="missing"):
        other.load_trainable_state_dict({k: v for k, v in state.items() if k != "cls_token"})


def test_one_encoder_serves_many_models(encoder: FrozenEncoder) -> None:
    a = make_model(encoder)
    b = MetaModel(encoder, {"seq": VarLen()})
    assert a.encoder is b.encoder
    assert sum(p.numel() for p in encoder.parameters()) == sum(p.numel() for p in a.encoder.parameters())


def test_errors_name_the_problem(encoder: FrozenEncoder) -> None:
    model = make_model(encoder)
    with pytest.raises(KeyError, match="no tokenizer for modality 'audio'; this model has: seq, img"):
        model({"audio": torch.zeros(1)})
    with pytest.raises(ValueError, match="same batch size"):
        model({"seq": collate([torch.randn(2, 3)]), "img": torch.randn(2, 3, 16, 16)})
    with pytest.raises(ValueError, match="build it with embed_dim=32"):
        MetaModel(encoder, {"seq": VarLen(embed_dim=16)})


def test_heads_through_registry() -> None:
    assert {"classification", "regression", "token", "embedding"} <= set(metaframe.list_heads())
    tokens = torch.randn(2, 4, D)
    mask = torch.tensor([[True, True, False, False], [True, True, True, True]])
    encoded = EncodedBatch(tokens, mask, {"m": slice(1, 4)})
    emb = metaframe.build_head("embedding", embed_dim=D, dim=8, pooling="mean")(encoded)
    assert torch.allclose(emb.norm(dim=-1), torch.ones(2))
    reg = metaframe.build_head("regression", embed_dim=D, out_shape=(5, 2))(encoded)
    assert reg.shape == (2, 5, 2)
    with pytest.raises(metaframe.UnknownHeadError, match="classification"):
        metaframe.build_head("clasification", embed_dim=D)
    with pytest.raises(ValueError, match="pooling 'avg' is not one of"):
        metaframe.build_head("classification", embed_dim=D, num_classes=2, pooling="avg")


def test_mean_pooling_ignores_padding() -> None:
    from metaframe.heads import masked_max, masked_mean

    tokens = torch.tensor([[[1.0], [3.0], [100.0]]])
    mask = torch.tensor([[True, True, False]])
    assert masked_mean(tokens, mask).item() == 2.0
    assert masked_max(tokens, mask).item() == 3.0


def test_unknown_modality_lists_installed() -> None:
    with pytest.raises(metaframe.UnknownModalityError, match="Installed modalities: .*image"):
        metaframe.get_modality("smell")


def test_token_batch_validates() -> None:
    with pytest.raises(ValueError, match=r"\[batch, tokens, dim\]"):
        TokenBatch(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="boolean"):
        TokenBatch(torch.zeros(2, 3, 4), torch.ones(2, 3))
    assert TokenBatch(torch.zeros(2, 3, 4)).valid_mask.all()
