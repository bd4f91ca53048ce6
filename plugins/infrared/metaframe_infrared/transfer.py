"""Initialise a 1-channel patch projection from a trained 3-channel image tokenizer.

The RGB filters are summed over their input channels (what timm does for ``in_chans=1``), so a
gray image x gives the same projection as the RGB image (x, x, x) did: image-trained
tokenizers transfer to infrared and X-ray without retraining from scratch.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Mapping

import torch
from torch import nn

from metaframe_image.tokenizer import PatchTokenizer

PROJECTION_KEY = "proj.weight"


def _load_state(source: str | os.PathLike[str] | Mapping[str, torch.Tensor] | nn.Module) -> tuple[str, dict[str, torch.Tensor]]:
    if isinstance(source, nn.Module):
        return type(source).__name__, dict(source.state_dict())
    if isinstance(source, Mapping):
        return "<state dict>", dict(source)
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"init_from={os.fspath(source)!r}: no such file (expected an image tokenizer .safetensors)")
    try:
        return os.fspath(source), load_file(path)
    except (SafetensorError, OSError, ValueError) as exc:
        raise ValueError(f"{os.fspath(source)}: not a readable safetensors file ({exc})") from exc


def find_prefix(state: Mapping[str, torch.Tensor], name: str, prefix: str | None = None) -> str:
    """The key prefix of the one patch projection in ``state`` (``""`` for a bare tokenizer,
    ``"tokenizers.image."`` inside a MetaModel checkpoint); ambiguity is an error."""
    if prefix is not None:
        if prefix + PROJECTION_KEY not in state:
            raise KeyError(f"{name}: no key {prefix + PROJECTION_KEY!r} (init_prefix={prefix!r})")
        return prefix
    candidates = [k[: -len(PROJECTION_KEY)] for k, v in state.items() if k.endswith(PROJECTION_KEY) and v.dim() == 4]
    if not candidates:
        raise KeyError(f"{name}: holds no patch projection (a 4-D '*{PROJECTION_KEY}' tensor); keys: {sorted(state)[:8]}")
    if len(candidates) > 1:
        raise KeyError(f"{name}: holds several patch projections {candidates}; choose one with init_prefix=")
    return candidates[0]


def load_image_projection(
    tokenizer: PatchTokenizer,
    source: str | os.PathLike[str] | Mapping[str, torch.Tensor] | nn.Module,
    prefix: str | None = None,
) -> None:
    """Copy the projection (channels summed or spread) and positions of an image tokenizer into ``tokenizer``.

    ``source``: a ``.safetensors`` file of a saved image tokenizer (or of a MetaModel's
    trainable state: the prefix is found), a state dict, or a ``PatchTokenizer``.
    """
    if isinstance(source, PatchTokenizer):
        donor = source
    else:
        name, state = _load_state(source)
        found = find_prefix(state, name, prefix)
        weight = state[found + PROJECTION_KEY]
        dim, channels, p, q = weight.shape
        if dim != tokenizer.embed_dim:
            raise ValueError(f"{name}: projection is {dim} wide, this tokenizer is {tokenizer.embed_dim}")
        if (p, q) != (tokenizer.patch_size, tokenizer.patch_size):
            raise ValueError(f"{name}: patches are {p}x{q}, this tokenizer's are {tokenizer.patch_size}x{tokenizer.patch_size}")
        pos = state.get(found + "pos_embed")
        if pos is None:  # no positions saved: keep this tokenizer's own
            pos = tokenizer.pos_embed.detach().clone()
        side = math.isqrt(pos.shape[1])
        if pos.dim() != 3 or side * side != pos.shape[1] or pos.shape[2] != dim:
            raise ValueError(f"{name}: positions of shape {tuple(pos.shape)} are not a square grid [1, n*n, {dim}]")
        donor = PatchTokenizer(dim, in_channels=channels, patch_size=p, image_size=side * p)
        bias = state.get(found + "proj.bias", torch.zeros(dim))
        donor.load_state_dict({"proj.weight": weight, "proj.bias": bias, "pos_embed": pos})
    if donor.patch_size != tokenizer.patch_size:
        raise ValueError(f"source patches are {donor.patch_size}, this tokenizer's are {tokenizer.patch_size}")
    tokenizer.load_projection_from(donor)
