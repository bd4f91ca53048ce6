"""Reading CTranslate2 Whisper ``model.bin`` files (the format faster-whisper distributes).

Whisper's encoder layers are pre-LN blocks with a fused q/k/v projection whose key part has no
bias (CTranslate2 stores it as zeros), exact GELU and LayerNorm eps 1e-5: exactly timm's ViT
``Block``. So the blocks are read into the official key layout and load like any other file.
The convolutional stem, positions and final norm stay behind (tokenizers own positions).

Layout (little-endian): uint32 binary version, spec name, uint32 revision, uint32 variable
count, then per variable: name, uint8 rank, rank x uint32 dims, uint8 dtype, uint32 bytes,
data; then aliases. Strings are a uint16 length and that many bytes (NUL-terminated).
"""

from __future__ import annotations

import re
import struct
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

from .encoder_checkpoint import CheckpointError, EncoderWeights

_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}  # 5: bfloat16, below
_BF16 = 5
_SUPPORTED_VERSIONS = range(1, 7)
_LAYER = re.compile(r"^encoder/layer_(\d+)/(.+)$")
_MAP = {  # CTranslate2 variable (inside encoder/layer_i/) -> official key (inside block i)
    "self_attention/layer_norm/gamma": "norm1.weight",
    "self_attention/layer_norm/beta": "norm1.bias",
    "self_attention/linear_0/weight": "attn.qkv.weight",
    "self_attention/linear_0/bias": "attn.qkv.bias",
    "self_attention/linear_1/weight": "attn.proj.weight",
    "self_attention/linear_1/bias": "attn.proj.bias",
    "ffn/layer_norm/gamma": "norm2.weight",
    "ffn/layer_norm/beta": "norm2.bias",
    "ffn/linear_0/weight": "mlp.fc1.weight",
    "ffn/linear_0/bias": "mlp.fc1.bias",
    "ffn/linear_1/weight": "mlp.fc2.weight",
    "ffn/linear_1/bias": "mlp.fc2.bias",
}


class _Reader:
    def __init__(self, fh: BinaryIO, path: Path, size: int) -> None:
        self.fh, self.path, self.size = fh, path, size

    def take(self, n: int, what: str) -> bytes:
        if n > self.size - self.fh.tell():
            raise CheckpointError(f"{self.path}: truncated CTranslate2 file ({what} needs {n} bytes past the end)")
        return self.fh.read(n)

    def u8(self) -> int:
        return self.take(1, "a byte")[0]

    def u32(self) -> int:
        return int(struct.unpack("<I", self.take(4, "an integer"))[0])

    def string(self) -> str:
        (n,) = struct.unpack("<H", self.take(2, "a string length"))
        try:
            return self.take(n, "a string").rstrip(b"\0").decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CheckpointError(f"{self.path}: not a CTranslate2 model (a name is not UTF-8)") from exc


def is_ctranslate2_file(path: str | Path) -> bool:
    """True when ``path`` starts like a CTranslate2 ``model.bin`` (version, then a spec name)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(6)
            if len(head) < 6:
                return False
            version, length = struct.unpack("<IH", head)
            name = fh.read(length)
    except OSError:
        return False
    return version in _SUPPORTED_VERSIONS and 1 < length < 128 and name.endswith(b"\0") and name[:-1].isascii()


def read_ctranslate2_encoder(path: str | Path) -> EncoderWeights:
    """The encoder blocks of a CTranslate2 Whisper model, in the official layout (float32)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    size = path.stat().st_size
    tensors: dict[str, torch.Tensor] = {}
    num_heads = 0
    with open(path, "rb") as fh:
        r = _Reader(fh, path, size)
        version = r.u32()
        if version not in _SUPPORTED_VERSIONS:
            raise CheckpointError(f"{path}: CTranslate2 binary version {version} is not supported (expected 1-6)")
        spec = r.string() if version >= 2 else ""
        if spec and spec != "WhisperSpec":
            raise CheckpointError(f"{path}: a CTranslate2 {spec!r}, not a Whisper model (WhisperSpec)")
        if version >= 2:
            r.u32()  # spec revision
        for _ in range(r.u32()):
            name = r.string()
            rank = r.u8()
            dims = [r.u32() for _ in range(rank)]
            dtype = r.u8()
            nbytes = r.u32()
            wanted = name == "encoder/num_heads" or (_LAYER.match(name) and _LAYER.match(name).group(2) in _MAP)  # type: ignore[union-attr]
            if not wanted:
                if nbytes > size - fh.tell():
                    raise CheckpointError(f"{path}: truncated CTranslate2 file ({name} declares {nbytes} bytes)")
                fh.seek(nbytes, 1)
                continue
            raw = r.take(nbytes, name)
            tensors[name] = _tensor(raw, dims, dtype, name, path)
    if "encoder/num_heads" in tensors:
        num_heads = int(tensors.pop("encoder/num_heads").reshape(-1)[0])
    if not num_heads:
        raise CheckpointError(f"{path}: the file does not state encoder/num_heads; pass num_heads")
    state: dict[str, torch.Tensor] = {}
    for name, t in tensors.items():
        m = _LAYER.match(name)
        assert m is not None
        state[f"{m.group(1)}.{_MAP[m.group(2)]}"] = t
    if not state:
        raise CheckpointError(f"{path}: no Whisper encoder layers (encoder/layer_N/...) found")
    metadata = {"num_heads": str(num_heads), "norm_eps": "1e-05", "source": f"{path.name} (CTranslate2 Whisper)"}
    return EncoderWeights(state, metadata, "ctranslate2-whisper")


def _tensor(raw: bytes, dims: list[int], dtype: int, name: str, path: Path) -> torch.Tensor:
    count = int(np.prod(dims)) if dims else 1
    if dtype == _BF16:
        if len(raw) != 2 * count:
            raise CheckpointError(f"{path}: {name}: {len(raw)} bytes for {count} bfloat16 values")
        as_int = torch.frombuffer(bytearray(raw), dtype=torch.int16)
        return as_int.view(torch.bfloat16).to(torch.float32).reshape(dims)
    if dtype not in _DTYPES:
        raise CheckpointError(f"{path}: {name}: unknown CTranslate2 dtype {dtype}")
    np_dtype = _DTYPES[dtype]
    if dtype == 1 and name != "encoder/num_heads":
        raise CheckpointError(
            f"{path}: {name} is int8-quantised; convert the model without quantisation (ct2 --quantization float16)"
        )
    if len(raw) != np.dtype(np_dtype).itemsize * count:
        raise CheckpointError(f"{path}: {name}: {len(raw)} bytes do not hold {dims} values of {np.dtype(np_dtype).name}")
    array = np.frombuffer(raw, dtype=np_dtype).reshape(dims)
    return torch.from_numpy(array.astype(np.float32 if array.dtype.kind == "f" else array.dtype))
