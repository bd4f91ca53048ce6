"""Encoders through the registry: backends by name, one instance per process, identity checks,
and a third-party encoder distribution that trains, evaluates and encodes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from engine_helpers import run_module, tiny_config

import metaframe
from metaframe import ConfigError, FrozenEncoder
from metaframe.encoder_checkpoint import CheckpointError
from metaframe.engine.build import build_encoder
from metaframe.engine.config import EncoderConfig, parse_config

TOY_ENCODER = '''
import hashlib
import torch
from torch import nn
from metaframe_registry import hookimpl


class Identity:
    def __init__(self, d):
        self.d = d

    def to_dict(self):
        return self.d


class ResidualMLP(nn.Module):
    """A toy frozen backbone: x + MLP(x) per token, padded tokens untouched by real ones."""

    def __init__(self, embed_dim=16, hidden=32, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.embed_dim = embed_dim
        self.mlp = nn.Sequential(nn.Linear(embed_dim, hidden), nn.GELU(), nn.Linear(hidden, embed_dim))
        self.requires_grad_(False)

    @property
    def identity(self):
        digest = hashlib.sha256()
        for t in self.state_dict().values():
            digest.update(t.numpy().tobytes())
        return Identity({"backend": "toy", "embed_dim": self.embed_dim, "sha256": digest.hexdigest()})

    def forward(self, tokens, mask=None):
        return tokens + self.mlp(tokens)


@hookimpl
def metaframe_register_encoders(register):
    register("toy-mlp", ResidualMLP, "a residual MLP per token (test)")
'''


@pytest.fixture
def toy_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from distributions import make_distribution

    site = tmp_path / "site"
    make_distribution(site, "metaframe-toy-encoder", "0.3.0", {"metaframe.plugins": {"toy": "mf_toy_encoder"}},
                      {"mf_toy_encoder/__init__.py": TOY_ENCODER})
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PYTHONPATH", str(site))
    from metaframe_registry import reset_default_registry

    reset_default_registry()
    yield site
    reset_default_registry()


def test_third_party_encoder_trains_evaluates_and_encodes(toy_site: Path, image_folders: Path, tmp_path: Path) -> None:
    assert "toy-mlp" in metaframe.list_encoders()
    config = tiny_config(image_folders, tmp_path / "run", encoder={"name": "toy-mlp", "options": {"embed_dim": 16}},
                         epochs=2)
    (tmp_path / "config.json").write_text(json.dumps(config))
    train = run_module(["metaframe", "train", str(tmp_path / "config.json"), "--quiet"])
    assert train.returncode == 0, train.stderr[-2000:]
    saved = json.loads(next((tmp_path / "run").rglob("encoder.json")).read_text())
    assert saved["backend"] == "toy" and saved["embed_dim"] == 16
    evaluate = run_module(["metaframe", "evaluate", str(tmp_path / "run"), "--data", str(image_folders),
                           "--out", str(tmp_path / "ev")])
    assert evaluate.returncode == 0, evaluate.stderr[-2000:]
    encode = run_module(["metaframe", "encode", "image", str(image_folders / "cat"), "--run", str(tmp_path / "run"),
                         "--out", str(tmp_path / "emb.safetensors"), "-q"])
    assert encode.returncode == 0, encode.stderr[-2000:]


def test_unknown_backend_lists_the_registered_ones() -> None:
    with pytest.raises(ConfigError, match=r"encoder.name: 'nope'.*vit"):
        build_encoder(EncoderConfig(name="nope"))
    with pytest.raises(ConfigError, match="encoder 'vit'.*colour"):
        build_encoder(EncoderConfig(options={"colour": "red"}))


def test_timm_shorthand_and_options_in_a_config() -> None:
    cfg = EncoderConfig.model_validate({"timm": "deit_tiny_patch16_224", "options": {"pretrained": False, "depth": 1}})
    assert cfg.name == "timm"
    assert cfg.factory_options() == {"model_name": "deit_tiny_patch16_224", "pretrained": False, "depth": 1}
    with pytest.raises(ConfigError, match="encoder.options repeats seed"):
        parse_config({"modality": "image", "data": {"train": "x"}, "encoder": {"seed": 1, "options": {"seed": 2}}})
    with pytest.raises(ConfigError, match="needs embed_dim, depth and num_heads"):
        parse_config({"modality": "image", "data": {"train": "x"}, "encoder": {"embed_dim": 32}})


def test_one_instance_per_identity_in_a_process(image_folders: Path, tmp_path: Path) -> None:
    metaframe.clear_encoder_cache()
    config = tiny_config(image_folders, tmp_path / "run", epochs=1)
    first = build_encoder(EncoderConfig(**config["encoder"]))
    assert build_encoder(EncoderConfig(**config["encoder"])) is first
    # the same weights from a file resolve to the same instance
    first.save(tmp_path / "same.safetensors")
    assert build_encoder(EncoderConfig(checkpoint=str(tmp_path / "same.safetensors"))) is first
    assert build_encoder(EncoderConfig(**{**config["encoder"], "seed": 1})) is not first
    # train, then load_run and encode in one process: one encoder throughout
    result = metaframe.train(config, quiet=True)
    model = metaframe.load_run(result.run_dir)
    assert model.encoder is first
    metaframe.encode("image", [image_folders / "cat" / "00.png"], tmp_path / "emb.safetensors", run=result.run_dir)
    assert metaframe.load_run(result.run_dir).encoder is first


def test_tampered_weights_are_refused(tmp_path: Path) -> None:
    from safetensors import safe_open
    from safetensors.torch import save_file

    encoder = FrozenEncoder(32, 1, 2)
    encoder.save(tmp_path / "enc.safetensors")
    with safe_open(str(tmp_path / "enc.safetensors"), framework="pt") as fh:
        meta = fh.metadata()
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}
    tensors["0.mlp.fc2.bias"] = tensors["0.mlp.fc2.bias"] + 1e-3
    save_file(tensors, str(tmp_path / "tampered.safetensors"), metadata=meta)
    with pytest.raises(CheckpointError, match="tampered.safetensors: the weights' sha256 is .* but the file declares"):
        FrozenEncoder.load(tmp_path / "tampered.safetensors")


def test_num_heads_with_a_checkpoint_is_honoured(tmp_path: Path) -> None:
    from timm.models.vision_transformer import Block

    blocks = torch.nn.Sequential(Block(128, 4, qkv_bias=True))
    torch.save(blocks.state_dict(), tmp_path / "w.pth")
    with pytest.raises(CheckpointError, match="w.pth: cannot tell the number of attention heads"):
        build_encoder(EncoderConfig(checkpoint=str(tmp_path / "w.pth")))
    encoder = build_encoder(EncoderConfig(checkpoint=str(tmp_path / "w.pth"), num_heads=4))
    assert encoder.num_heads == 4


def test_encoder_specs_of_the_command_line(tmp_path: Path) -> None:
    from metaframe.engine.config import encoder_config_from_spec

    assert encoder_config_from_spec(None, preset="small", seed=3).factory_options() == {"preset": "small", "seed": 3}
    assert encoder_config_from_spec("random").name == "vit"
    assert encoder_config_from_spec("timm:deit_tiny_patch16_224").factory_options()["model_name"] == "deit_tiny_patch16_224"
    assert encoder_config_from_spec("none").name == "none"
    assert encoder_config_from_spec(str(tmp_path / "enc.safetensors")).checkpoint == str(tmp_path / "enc.safetensors")


def test_encode_cli_takes_an_encoder_spec(image_folders: Path, tmp_path: Path) -> None:
    done = run_module(["metaframe", "encode", "image", str(image_folders / "cat"), "--encoder", "none",
                       "--tokenizer-option", "patch_size=4", "--tokenizer-option", "image_size=8",
                       "--reader-option", "size=8", "--out", str(tmp_path / "e.safetensors"), "-q"])
    assert done.returncode == 0, done.stderr[-2000:]
    index = json.loads((tmp_path / "e.safetensors.json").read_text())
    assert index["encoder"]["backend"] == "none"
    bad = run_module(["metaframe", "encode", "image", str(image_folders / "cat"), "--encoder", "nope",
                      "--out", str(tmp_path / "f.safetensors"), "-q"])
    assert bad.returncode != 0 and "encoder.name: 'nope'" in bad.stderr and "Traceback" not in bad.stderr
