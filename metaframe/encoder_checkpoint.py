"""Reading encoder weights: the official layout, timm ViT state_dicts and our safetensors.

Everything is normalised to the official key layout (``{i}.norm1.weight`` ... as saved from
an ``nn.Sequential`` of timm Blocks) before shapes are inferred and checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import torch

from metaframe_registry import MetaframeError

BLOCK_KEYS = (
    "norm1.weight",
    "norm1.bias",
    "attn.qkv.weight",
    "attn.qkv.bias",
    "attn.proj.weight",
    "attn.proj.bias",
    "norm2.weight",
    "norm2.bias",
    "mlp.fc1.weight",
    "mlp.fc1.bias",
    "mlp.fc2.weight",
    "mlp.fc2.bias",
)
METADATA_FORMAT = "metaframe.frozen_encoder/1"
NORM_PRE_PREFIX = "norm_pre."  # a pre-trained model's own frozen input norm (timm norm_pre, CLIP ln_pre)


class CheckpointError(MetaframeError, ValueError):
    """An encoder file that cannot be read or does not match the expected layout."""


@dataclass
class EncoderWeights:
    """Blocks' tensors in official layout, plus what the file said about itself."""

    state_dict: dict[str, torch.Tensor]
    metadata: dict[str, str]
    source_format: str  # "official" | "timm-vit" | "metaframe" | "ctranslate2-whisper"


def _unwrap(obj: Any, path: Path) -> Mapping[str, Any]:
    for key in ("state_dict", "model", "module"):
        if isinstance(obj, Mapping) and key in obj and isinstance(obj[key], Mapping):
            obj = obj[key]
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{path}: expected a state_dict (a mapping of names to tensors), found {type(obj).__name__}")
    return obj


def read_encoder_file(path: str | Path) -> EncoderWeights:
    """Load tensors from ``path`` (torch-saved or safetensors) in official key layout."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    metadata: dict[str, str] = {}
    if path.suffix != ".safetensors":
        from .encoder_ctranslate2 import is_ctranslate2_file, read_ctranslate2_encoder

        if is_ctranslate2_file(path):
            return read_ctranslate2_encoder(path)
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="pt") as fh:
                metadata = dict(fh.metadata() or {})
                raw: Mapping[str, Any] = {k: fh.get_tensor(k) for k in fh.keys()}
        except Exception as exc:  # noqa: BLE001
            raise CheckpointError(f"{path}: not a readable safetensors file ({exc})") from exc
    else:
        try:
            raw = _unwrap(torch.load(path, map_location="cpu", weights_only=True), path)
        except CheckpointError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise CheckpointError(
                f"{path}: cannot be loaded with torch.load(weights_only=True) ({type(exc).__name__}: {exc}). "
                "metaframe never unpickles arbitrary objects; convert the file to a plain state_dict."
            ) from exc
    raw = {k.removeprefix("module."): v for k, v in raw.items()}
    non_tensors = [k for k, v in raw.items() if not isinstance(v, torch.Tensor)]
    if non_tensors:
        raise CheckpointError(f"{path}: entries that are not tensors: {', '.join(non_tensors[:5])}")

    if metadata.get("format") == METADATA_FORMAT:
        return EncoderWeights(dict(raw), metadata, "metaframe")
    official = any(re.match(r"^\d+\.", k) for k in raw)  # an official file with a stray 'blocks.*' key stays official
    if not official and any(k.startswith("blocks.") for k in raw):
        # timm VisionTransformer: keep its blocks and input norm, drop patch embedding, cls, norm, head
        blocks = {k.removeprefix("blocks."): v for k, v in raw.items() if k.startswith("blocks.")}
        blocks.update({k: v for k, v in raw.items() if k.startswith(NORM_PRE_PREFIX)})
        return EncoderWeights(blocks, metadata, "timm-vit")
    return EncoderWeights(dict(raw), metadata, "official")


def block_indices(state_dict: Mapping[str, torch.Tensor]) -> list[int]:
    """The sorted block numbers that keys like ``'3.norm1.weight'`` name."""
    return sorted({int(m.group(1)) for k in state_dict if (m := re.match(r"^(\d+)\.", k))})


def infer_shape(state_dict: Mapping[str, torch.Tensor], path: str | Path) -> tuple[int, int, float]:
    """(embed_dim, depth, mlp_ratio) from the tensors' shapes.

    Depth is the run of block numbers 0, 1, 2, ... without a gap, never the largest number
    seen: one stray key ``'999.x'`` is one unexpected key, not 988 missing blocks.
    """
    indices = block_indices(state_dict)
    norm1 = state_dict.get("0.norm1.weight")
    if not indices or norm1 is None:
        sample = ", ".join(list(state_dict)[:5]) or "none"
        raise CheckpointError(
            f"{path}: no transformer blocks found (expected keys like '0.norm1.weight' or 'blocks.0.norm1.weight'; "
            f"found: {sample})"
        )
    if norm1.dim() != 1:
        raise CheckpointError(f"{path}: 0.norm1.weight: expected a vector of the width, found shape {tuple(norm1.shape)}")
    present = set(indices)
    depth = 0
    while depth in present:
        depth += 1
    embed_dim = norm1.shape[0]
    fc1 = state_dict.get("0.mlp.fc1.weight")
    mlp_ratio = fc1.shape[0] / embed_dim if fc1 is not None and fc1.dim() == 2 and embed_dim else 4.0
    return embed_dim, depth, mlp_ratio


def index_ranges(indices: list[int]) -> str:
    """``[0, 1, 2, 5, 999]`` -> ``'0-2, 5, 999'`` (block numbers, as error messages show them)."""
    parts: list[str] = []
    start = prev = None
    for i in [*indices, None]:
        if start is not None and (i is None or i != prev + 1):
            parts.append(f"{start}" if start == prev else f"{start}-{prev}")
            start = None
        if i is not None and start is None:
            start = i
        prev = i
    return ", ".join(parts)


def key_diff(expected: Mapping[str, torch.Size], found: Mapping[str, torch.Tensor], limit: int = 10) -> str:
    """A readable report of missing, unexpected, mis-shaped and non-float keys ('' when they agree).

    The first line counts each kind (``missing: 1, unexpected: 1, mis-shaped: 0, not floating
    point: 0``), the next ones name the first ``limit`` of each: a weight stored as int64 is
    refused here, at load, not at the first forward.
    """
    missing = [k for k in expected if k not in found]
    unexpected = [k for k in found if k not in expected]
    misshaped = [
        f"{k}: expected {tuple(expected[k])}, found {tuple(found[k].shape)}"
        for k in expected
        if k in found and tuple(found[k].shape) != tuple(expected[k])
    ]
    not_float = [
        f"{k}: {found[k].dtype} (expected a floating-point dtype)"
        for k in expected
        if k in found and not found[k].is_floating_point()
    ]
    kinds = (
        ("missing keys", "missing", missing),
        ("unexpected keys", "unexpected", unexpected),
        ("mis-shaped keys", "mis-shaped", misshaped),
        ("not floating point", "not floating point", not_float),
    )
    if not any(items for _, _, items in kinds):
        return ""
    lines = ["  " + ", ".join(f"{short}: {len(items)}" for _, short, items in kinds)]
    for title, _, items in kinds:
        if items:
            shown = items[:limit]
            more = f" … and {len(items) - limit} more" if len(items) > limit else ""
            lines.append(f"  {title} ({len(items)}): " + ", ".join(shown) + more)
    return "\n".join(lines)


def non_finite(tensors: Mapping[str, torch.Tensor], limit: int = 5) -> str:
    """``'key (n of N)'`` for the first tensors holding NaN or ±inf ('' when all are finite).

    A finite sum proves every element finite (NaN and inf never cancel back to a number) and
    costs a fifth of ``isfinite``; only a tensor whose sum is not finite is counted exactly.
    """
    bad = []
    for key, tensor in tensors.items():
        if not tensor.is_floating_point() or bool(torch.isfinite(tensor.sum())):
            continue
        if not bool(torch.isfinite(tensor).all()):  # the sum may only have overflowed
            bad.append(f"{key} ({int((~torch.isfinite(tensor)).sum())} of {tensor.numel()})")
    if not bad:
        return ""
    more = f" … and {len(bad) - limit} more" if len(bad) > limit else ""
    return f"{len(bad)} tensor(s): " + ", ".join(bad[:limit]) + more
