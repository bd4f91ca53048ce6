"""The timm backend: any timm model whose trunk is a block sequence, by name or local file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from metaframe import FrozenEncoder
from metaframe.encoder_checkpoint import CheckpointError

SMALL = {"depth": 2, "embed_dim": 64, "num_heads": 4}  # a small copy of each architecture


def _save_timm(name: str, path: Path, **kwargs) -> torch.nn.Module:
    import timm

    torch.manual_seed(0)
    model = timm.create_model(name, pretrained=False, num_classes=0, **kwargs).eval()
    with torch.no_grad():  # non-trivial norms and biases, so a wrong mapping cannot pass
        for key, p in model.named_parameters():
            if "norm" in key or key.endswith("bias"):
                p.add_(torch.randn_like(p) * 0.1)
    if path.suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    else:
        torch.save(model.state_dict(), path)
    return model


@pytest.mark.parametrize(
    "name, suffix",
    [("vit_base_patch16_clip_224.laion2b", ".safetensors"), ("deit_tiny_patch16_224", ".pth")],
)
def test_parity_with_the_timm_model(tmp_path: Path, name: str, suffix: str) -> None:
    model = _save_timm(name, tmp_path / f"model{suffix}", **SMALL)
    encoder = FrozenEncoder.from_timm(name, checkpoint=tmp_path / f"model{suffix}", **SMALL)
    assert (encoder.embed_dim, encoder.depth, encoder.num_heads) == (64, 2, 4)
    assert encoder.identity.backend == "timm" and encoder.identity.preset == f"timm:{name}"
    assert all(not p.requires_grad for p in encoder.parameters())
    x = torch.randn(2, 9, 64)
    with torch.no_grad():
        expected = model.blocks(model.norm_pre(x))
        assert (encoder(x) - expected).abs().max().item() <= 1e-6
        assert (encoder(x, torch.ones(2, 9, dtype=torch.bool)) - expected).abs().max().item() <= 1e-6
    if "clip" in name:  # CLIP keeps its ln_pre, frozen, and it is part of the identity
        assert isinstance(encoder.norm_pre, torch.nn.LayerNorm) and encoder.norm_eps == 1e-5
        saved = encoder.save(tmp_path / "clip.safetensors")
        again = FrozenEncoder.load(tmp_path / "clip.safetensors")
        assert again.identity.sha256 == saved.sha256
        with torch.no_grad():
            assert (again(x) - expected).abs().max().item() <= 1e-6


def test_padding_is_masked(tmp_path: Path) -> None:
    _save_timm("deit_tiny_patch16_224", tmp_path / "m.pth", **SMALL)
    encoder = FrozenEncoder.from_timm("deit_tiny_patch16_224", checkpoint=tmp_path / "m.pth", **SMALL)
    x = torch.randn(1, 5, 64)
    padded = torch.cat([x, torch.randn(1, 3, 64)], dim=1)
    mask = torch.tensor([[True] * 5 + [False] * 3])
    with torch.no_grad():
        assert (encoder(padded, mask)[:, :5] - encoder(x)).abs().max().item() <= 1e-5


def test_refusals_are_readable(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no 'blocks' sequence"):
        FrozenEncoder.from_timm("resnet18", pretrained=False)
    with pytest.raises(CheckpointError, match="timm has no model 'vit_nonexistent_patch3'"):
        FrozenEncoder.from_timm("vit_nonexistent_patch3")
    with pytest.raises(CheckpointError, match="missing.pth: no such file"):
        FrozenEncoder.from_timm("deit_tiny_patch16_224", checkpoint=tmp_path / "missing.pth")
    wrong = tmp_path / "wrong.pth"
    torch.save({"blocks.0.norm1.weight": torch.zeros(3)}, wrong)
    with pytest.raises(CheckpointError, match="wrong.pth: timm could not load it"):
        FrozenEncoder.from_timm("deit_tiny_patch16_224", checkpoint=wrong, **SMALL)


def test_offline_failure_is_one_line_naming_checkpoint(tmp_path: Path) -> None:
    """Asked for pretrained weights by name with the hub unreachable: one line, naming the way out."""
    code = (
        "from metaframe import FrozenEncoder\n"
        "try:\n    FrozenEncoder.from_timm('vit_tiny_patch16_224.augreg_in21k')\n"
        "except Exception as exc:\n    print(type(exc).__name__ + ': ' + str(exc))\n"
    )
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"), TORCH_HOME=str(tmp_path / "th"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    line = out.stdout.strip()
    assert line.startswith("CheckpointError: timm could not fetch pretrained weights for 'vit_tiny_patch16_224.augreg_in21k'")
    assert "checkpoint" in line and "\n" not in line


def test_random_architecture_is_seeded() -> None:
    a = FrozenEncoder.from_timm("deit_tiny_patch16_224", pretrained=False, seed=1, **SMALL)
    b = FrozenEncoder.from_timm("deit_tiny_patch16_224", pretrained=False, seed=1, **SMALL)
    c = FrozenEncoder.from_timm("deit_tiny_patch16_224", pretrained=False, seed=2, **SMALL)
    assert a.identity.sha256 == b.identity.sha256 != c.identity.sha256
