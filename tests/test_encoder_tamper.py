"""Encoder files that lie: tampered tensors under the original metadata, NaN, int weights, stray keys."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from metaframe import FrozenEncoder
from metaframe.encoder import tensors_sha256
from metaframe.encoder_checkpoint import CheckpointError


def small_encoder(seed: int = 0) -> FrozenEncoder:
    torch.manual_seed(seed)
    encoder = FrozenEncoder(embed_dim=16, depth=2, num_heads=2)
    with torch.no_grad():  # non-trivial norms and biases
        for p in encoder.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    encoder._sha256 = None
    return encoder


def saved(tmp_path: Path) -> tuple[FrozenEncoder, Path, dict[str, str]]:
    encoder = small_encoder()
    path = tmp_path / "enc.safetensors"
    encoder.save(path)
    with safe_open(str(path), framework="pt") as fh:
        metadata = dict(fh.metadata())
    return encoder, path, metadata


def rewrite(path: Path, dst: Path, metadata: dict[str, str] | None, change) -> Path:  # type: ignore[no-untyped-def]
    tensors = load_file(str(path))
    change(tensors)
    save_file(tensors, str(dst), metadata=metadata)
    return dst


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_tampered_tensors_under_the_original_metadata_are_refused(tmp_path: Path, dtype: torch.dtype) -> None:
    _, path, metadata = saved(tmp_path)

    def nudge(t: dict[str, torch.Tensor]) -> None:
        t["1.mlp.fc2.weight"][0, 0] += 0.5  # finite, plausible, wrong

    tampered = rewrite(path, tmp_path / "tampered.safetensors", metadata, nudge)
    with pytest.raises(CheckpointError, match="tampered.safetensors: the weights' sha256 is .* but the file declares"):
        FrozenEncoder.load(tampered, dtype=dtype)
    assert FrozenEncoder.load(path, dtype=dtype).embed_dim == 16  # the untouched file loads in that dtype


def test_identity_is_the_hash_of_what_was_loaded(tmp_path: Path) -> None:
    original, path, metadata = saved(tmp_path)
    loaded = FrozenEncoder.load(path)
    assert loaded.identity.sha256 == original.identity.sha256 == metadata["sha256"]
    recomputed = tensors_sha256(loaded._frozen_state().items())
    assert loaded.identity.sha256 == recomputed
    half = FrozenEncoder.load(path, dtype=torch.bfloat16)
    assert half.identity.sha256 == tensors_sha256(half._frozen_state().items()) != metadata["sha256"]

    # no declared hash (an official-layout file): the identity still comes from the tensors,
    # so a run trained with the original encoder refuses the changed one
    from metaframe.engine.checkpoint import check_encoder
    from metaframe_registry import MetaframeError

    def nudge(t: dict[str, torch.Tensor]) -> None:
        t["0.norm1.bias"][3] -= 0.25

    plain = rewrite(path, tmp_path / "plain.safetensors", None, nudge)
    changed = FrozenEncoder.load(plain, num_heads=2)
    assert changed.identity.sha256 != original.identity.sha256
    with pytest.raises(MetaframeError, match="trained with encoder"):
        check_encoder(changed.identity.to_dict(), original.identity.to_dict(), tmp_path)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("keep_metadata", [True, False])
def test_non_finite_weights_are_refused(tmp_path: Path, value: float, keep_metadata: bool) -> None:
    _, path, metadata = saved(tmp_path)

    def poison(t: dict[str, torch.Tensor]) -> None:
        t["0.attn.qkv.weight"][2, 5] = value

    bad = rewrite(path, tmp_path / "bad.safetensors", metadata if keep_metadata else None, poison)
    with pytest.raises(CheckpointError) as info:
        FrozenEncoder.load(bad, num_heads=2)
    message = str(info.value)
    assert "bad.safetensors" in message and "NaN or inf" in message
    assert "0.attn.qkv.weight (1 of 768)" in message


def test_integer_weight_is_refused_at_load_not_at_first_forward(tmp_path: Path) -> None:
    _, path, _ = saved(tmp_path)

    def as_int(t: dict[str, torch.Tensor]) -> None:
        t["0.norm1.weight"] = t["0.norm1.weight"].round().to(torch.int64)

    bad = rewrite(path, tmp_path / "int.pth.safetensors", None, as_int)
    with pytest.raises(CheckpointError) as info:
        FrozenEncoder.load(bad, num_heads=2)
    message = str(info.value)
    assert "missing: 0, unexpected: 0, mis-shaped: 0, not floating point: 1" in message
    assert "0.norm1.weight: torch.int64 (expected a floating-point dtype)" in message


def test_one_stray_key_is_one_unexpected_key(tmp_path: Path) -> None:
    _, path, _ = saved(tmp_path)

    def stray(t: dict[str, torch.Tensor]) -> None:
        t["999.norm1.weight"] = torch.ones(16)

    bad = rewrite(path, tmp_path / "stray.safetensors", None, stray)
    with pytest.raises(CheckpointError) as info:
        FrozenEncoder.load(bad, num_heads=2)
    message = str(info.value)
    assert "2 ViT blocks of width 16" in message and "blocks found: 0-1, 999" in message
    assert "missing: 0, unexpected: 1, mis-shaped: 0" in message
    assert "unexpected keys (1): 999.norm1.weight" in message

    def timm_named(t: dict[str, torch.Tensor]) -> None:  # an official file with one 'blocks.' key stays official
        t["blocks.0.extra"] = torch.ones(1)

    mixed = rewrite(path, tmp_path / "mixed.safetensors", None, timm_named)
    with pytest.raises(CheckpointError, match=r"missing: 0, unexpected: 1,.*\n.*unexpected keys \(1\): blocks.0.extra"):
        FrozenEncoder.load(mixed, num_heads=2)


def test_missing_block_and_mis_shaped_tensor_are_named(tmp_path: Path) -> None:
    _, path, _ = saved(tmp_path)

    def damage(t: dict[str, torch.Tensor]) -> None:
        del t["1.mlp.fc1.bias"]
        t["0.attn.proj.weight"] = torch.zeros(16, 8)

    bad = rewrite(path, tmp_path / "damaged.safetensors", None, damage)
    with pytest.raises(CheckpointError) as info:
        FrozenEncoder.load(bad, num_heads=2)
    message = str(info.value)
    assert "missing: 1, unexpected: 0, mis-shaped: 1" in message
    assert "missing keys (1): 1.mlp.fc1.bias" in message
    assert "0.attn.proj.weight: expected (16, 16), found (16, 8)" in message
