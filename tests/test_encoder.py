"""FrozenEncoder: parity with plain timm blocks, checkpoint formats, strict loading, freezing."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
import torch
from torch import nn

from metaframe import FrozenEncoder
from metaframe.encoder_checkpoint import CheckpointError

SHAPES = {"tiny": (192, 12, 3), "base": (768, 12, 12)}


def official_blocks(dim: int, depth: int, heads: int, eps: float = 1e-5) -> nn.Sequential:
    """The official checkpoint's module, as REFERENCE.md describes it."""
    from timm.models.vision_transformer import Block

    torch.manual_seed(0)
    blocks = nn.Sequential(
        *[
            Block(dim, heads, mlp_ratio=4.0, qkv_bias=True, norm_layer=partial(nn.LayerNorm, eps=eps), act_layer=nn.GELU)
            for _ in range(depth)
        ]
    )
    # random, non-trivial norms and biases so a wrong mapping cannot pass
    with torch.no_grad():
        for name, p in blocks.named_parameters():
            if "norm" in name or name.endswith("bias"):
                p.add_(torch.randn_like(p) * 0.1)
    return blocks.eval()


@pytest.fixture(scope="module")
def base_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[nn.Sequential, Path]:
    blocks = official_blocks(*SHAPES["base"])
    path = tmp_path_factory.mktemp("ckpt") / "Meta-Transformer_base_patch16_encoder.pth"
    torch.save(blocks.state_dict(), path)
    return blocks, path


def test_official_base_layout(base_file) -> None:
    blocks, _ = base_file
    state = blocks.state_dict()
    assert len(state) == 144
    assert sum(v.numel() for v in state.values()) == 85_054_464


@pytest.mark.parametrize("preset", ["tiny", "base"])
def test_parity_with_plain_sequential(preset: str, base_file, tmp_path: Path) -> None:
    if preset == "base":
        blocks, path = base_file
    else:
        blocks = official_blocks(*SHAPES[preset])
        path = tmp_path / "tiny.pth"
        torch.save(blocks.state_dict(), path)
    encoder = FrozenEncoder.load(path)
    assert (encoder.embed_dim, encoder.depth, encoder.num_heads) == SHAPES[preset]
    assert encoder.preset == preset
    x = torch.randn(2, 7, encoder.embed_dim)
    with torch.no_grad():
        expected = blocks(x)
        got = encoder(x)
        got_masked = encoder(x, torch.ones(2, 7, dtype=torch.bool))
    assert (got - expected).abs().max().item() <= 1e-6
    assert (got_masked - expected).abs().max().item() <= 1e-6

    # the same after conversion to metaframe safetensors
    encoder.save(tmp_path / "enc.safetensors")
    converted = FrozenEncoder.load(tmp_path / "enc.safetensors")
    with torch.no_grad():
        assert (converted(x) - expected).abs().max().item() <= 1e-6
    assert converted.identity == encoder.identity


def test_convert_checkpoint_cli(tmp_path: Path, cli) -> None:
    blocks = official_blocks(192, 2, 3)
    src = tmp_path / "small.pth"
    torch.save(blocks.state_dict(), src)
    dst = tmp_path / "small.safetensors"
    guessed = cli("convert-checkpoint", str(src), str(dst))
    assert guessed.returncode == 1 and "--num-heads" in guessed.stderr and "Traceback" not in guessed.stderr
    assert not dst.exists()
    result = cli("convert-checkpoint", str(src), str(dst), "--num-heads", "3")
    assert result.returncode == 0, result.stderr
    encoder = FrozenEncoder.load(dst)
    assert f"weights sha256: {encoder.weights_sha256()}" in result.stdout
    from metaframe.atomic import sha256_file

    assert f"file sha256:    {sha256_file(dst)}" in result.stdout
    x = torch.randn(1, 5, 192)
    with torch.no_grad():
        assert (encoder(x) - blocks(x)).abs().max().item() <= 1e-6
    from safetensors import safe_open

    with safe_open(str(dst), framework="pt") as fh:
        meta = fh.metadata()
        assert sorted(fh.keys())[0] == "0.attn.proj.bias"  # official key layout
    assert meta["embed_dim"] == "192" and meta["depth"] == "2" and meta["num_heads"] == "3"

    bad = cli("convert-checkpoint", str(tmp_path / "missing.pth"), str(dst))
    assert bad.returncode == 1 and "missing.pth: no such file" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_timm_vision_transformer_blocks_load(tmp_path: Path, suffix: str) -> None:
    from timm.models.vision_transformer import VisionTransformer

    torch.manual_seed(0)
    vit = VisionTransformer(img_size=32, patch_size=16, embed_dim=128, depth=3, num_heads=4, num_classes=5).eval()
    path = tmp_path / f"vit{suffix}"
    if suffix == ".pth":
        torch.save({"model": vit.state_dict()}, path)
    else:
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in vit.state_dict().items()}, str(path))
    with pytest.raises(CheckpointError, match="num_heads"):  # 128 wide: 2 heads of 64 or 4 of 32? never guessed
        FrozenEncoder.load(path)
    encoder4 = FrozenEncoder.load(path, num_heads=4)
    assert (encoder4.embed_dim, encoder4.depth, encoder4.num_heads) == (128, 3, 4)
    x = torch.randn(2, 5, 128)
    with torch.no_grad():
        expected = vit.blocks(x)
        assert (encoder4(x) - expected).abs().max().item() <= 1e-6


def test_any_vit_size_loads(tmp_path: Path) -> None:
    blocks = official_blocks(320, 5, 5)
    torch.save(blocks.state_dict(), tmp_path / "odd.pth")
    encoder = FrozenEncoder.load(tmp_path / "odd.pth", num_heads=5)
    assert (encoder.embed_dim, encoder.depth, encoder.preset) == (320, 5, "custom")


def test_strict_load_errors_are_readable(tmp_path: Path) -> None:
    state = official_blocks(64, 2, 1).state_dict()
    del state["1.mlp.fc2.bias"]
    state["1.extra.weight"] = torch.zeros(3)
    state["0.attn.qkv.weight"] = torch.zeros(10, 64)
    path = tmp_path / "broken.pth"
    torch.save(state, path)
    with pytest.raises(CheckpointError) as info:
        FrozenEncoder.load(path, num_heads=1)
    message = str(info.value)
    assert str(path) in message
    assert "missing keys (1): 1.mlp.fc2.bias" in message
    assert "unexpected keys (1): 1.extra.weight" in message
    assert "0.attn.qkv.weight: expected (192, 64), found (10, 64)" in message


def test_refuses_pickled_objects_and_junk(tmp_path: Path) -> None:
    import pickle

    path = tmp_path / "evil.pth"
    torch.save({"0.norm1.weight": torch.zeros(4), "obj": Path("x")}, path)
    with pytest.raises(CheckpointError, match="weights_only"):
        FrozenEncoder.load(path)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(pickle.dumps("hello") + b"garbage")
    with pytest.raises(CheckpointError, match="junk.pth"):
        FrozenEncoder.load(junk)
    nothing = tmp_path / "empty.safetensors"
    nothing.write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty.safetensors"):
        FrozenEncoder.load(nothing)


def test_presets_and_seed() -> None:
    a = FrozenEncoder.from_preset("tiny", seed=1)
    b = FrozenEncoder.from_preset("tiny", seed=1)
    c = FrozenEncoder.from_preset("tiny", seed=2)
    assert (a.embed_dim, a.depth, a.num_heads) == (192, 12, 3)
    assert a.weights_sha256() == b.weights_sha256() != c.weights_sha256()
    with pytest.raises(KeyError, match="tiny, small, base, large"):
        FrozenEncoder.from_preset("huge")


def test_frozen_but_gradients_flow_to_inputs() -> None:
    encoder = FrozenEncoder(embed_dim=32, depth=2, num_heads=2)
    wrapper = nn.Sequential(encoder)
    wrapper.train()
    assert not encoder.training and all(not m.training for m in encoder.modules())
    assert all(not p.requires_grad for p in encoder.parameters())
    x = torch.randn(2, 4, 32, requires_grad=True)
    encoder(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in encoder.parameters())


def test_gradient_checkpointing_gives_same_gradients() -> None:
    encoder = FrozenEncoder(embed_dim=32, depth=2, num_heads=2)
    x = torch.randn(2, 4, 32, requires_grad=True)
    encoder(x).pow(2).sum().backward()
    plain = x.grad.clone()
    x.grad = None
    encoder.gradient_checkpointing = True
    encoder(x).pow(2).sum().backward()
    assert torch.allclose(x.grad, plain, atol=1e-6)


def test_key_padding_mask_makes_padding_irrelevant() -> None:
    encoder = FrozenEncoder(embed_dim=32, depth=3, num_heads=4)
    real = torch.randn(1, 5, 32)
    alone = encoder(real)
    for pad in (1, 7):
        padded = torch.cat([real, torch.randn(1, pad, 32) * 100], dim=1)
        mask = torch.zeros(1, 5 + pad, dtype=torch.bool)
        mask[:, :5] = True
        out = encoder(padded, mask)
        assert torch.allclose(out[:, :5], alone, atol=1e-5)
