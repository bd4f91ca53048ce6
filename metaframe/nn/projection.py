"""Reusing a trained image tokenizer's patch projection in another tokenizer.

One function, ``load_patch_projection``, reads the projection ``[D, C, p, p]``, its bias and its
learned positions from a module (anything with a ``proj`` ``Conv2d``, e.g. ``PatchEmbed2d``), a
state dict, or a ``.safetensors`` file (a saved tokenizer, or a MetaModel checkpoint: the key
prefix is found when there is exactly one projection), checks them against the receiving
tokenizer, and adapts the input channels with ``sum_input_channels``. Infrared and X-ray copy
the result into a 2-D patch tokenizer (``PatchEmbed2d.load_projection_from``); video inflates it
into tubelets.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Tuple, Union

import torch
from torch import nn

PROJECTION_KEY = "proj.weight"

ProjectionSource = Union[str, "os.PathLike[str]", Mapping[str, torch.Tensor], nn.Module]


def sum_input_channels(weight: torch.Tensor, in_channels: int) -> torch.Tensor:
    """Adapt a patch projection ``[D, C, ...]`` to ``in_channels``, keeping the response to a
    constant image (every channel the same value) exactly.

    Same count: kept. Fewer: original channel ``i`` is added into channel ``i % in_channels``;
    for one channel that sums the filters over C (what timm does for ``in_chans=1``), so a gray
    image x gives the tokens the original gave for (x, x, ..., x). More: the filters are cycled
    (new channel ``j`` is original ``j % C``) and each copy is divided by how many copies its
    original has (``C / in_channels`` when ``in_channels`` is a multiple of C, as timm does).
    """
    c = weight.shape[1]
    if in_channels < 1:
        raise ValueError(f"in_channels must be >= 1, got {in_channels}")
    if c == in_channels:
        return weight
    if in_channels < c:
        out = weight.new_zeros(weight.shape[0], in_channels, *weight.shape[2:])
        for i in range(c):
            out[:, i % in_channels] += weight[:, i]
        return out
    source = [j % c for j in range(in_channels)]
    copies = torch.tensor([source.count(i) for i in source], dtype=weight.dtype, device=weight.device)
    return weight[:, source] / copies.view(1, -1, *([1] * (weight.dim() - 2)))


@dataclass
class PatchProjection:
    """A 2-D patch projection read from a tokenizer: ``weight [D, C, p, p]`` (channels already
    adapted), ``bias [D]`` or None, ``pos_embed [1, h*w, D]`` with its ``grid`` or None, and
    ``name``: where it came from, for messages."""

    weight: torch.Tensor
    bias: Optional[torch.Tensor]
    pos_embed: Optional[torch.Tensor]
    grid: Optional[Tuple[int, int]]
    name: str


def _prefix_option(option: str) -> str:
    return option[: -len("_from")] + "_prefix" if option.endswith("_from") else "prefix"


def _find_prefix(state: Mapping[str, torch.Tensor], name: str, prefix: Optional[str], option: str) -> str:
    if prefix is not None:
        if prefix + PROJECTION_KEY not in state:
            found = ", ".join(sorted(state)[:6]) or "nothing"
            raise KeyError(f"{name}: no key {prefix + PROJECTION_KEY!r} ({option}={prefix!r}); found {found}")
        return prefix
    candidates = [k[: -len(PROJECTION_KEY)] for k, v in state.items() if k.endswith(PROJECTION_KEY) and v.dim() == 4]
    if not candidates:
        raise KeyError(f"{name}: holds no patch projection (a 4-D '*{PROJECTION_KEY}' tensor); keys: {sorted(state)[:8]}")
    if len(candidates) > 1:
        raise KeyError(f"{name}: holds several patch projections {candidates}; choose one with {option}=")
    return candidates[0]


def _read_source(source: Any, prefix: Optional[str], option: str) -> PatchProjection:
    if isinstance(source, nn.Module):
        proj = getattr(source, "proj", None)
        if not isinstance(proj, nn.Conv2d):
            raise TypeError(
                f"{type(source).__name__} is not an image patch tokenizer: expected a .proj Conv2d "
                "(and optionally .pos_embed with .grid)"
            )
        pos = getattr(source, "pos_embed", None)
        grid = getattr(source, "grid", None)
        if pos is not None and grid is None and pos.dim() == 3 and math.isqrt(pos.shape[1]) ** 2 == pos.shape[1]:
            grid = (math.isqrt(pos.shape[1]),) * 2
        if pos is not None and grid is None:
            raise ValueError(f"{type(source).__name__}: .pos_embed of shape {tuple(pos.shape)} has no .grid and is not square")
        return PatchProjection(proj.weight, proj.bias, pos, None if pos is None else (int(grid[0]), int(grid[1])), type(source).__name__)
    if isinstance(source, Mapping):
        name, state = "state dict", dict(source)
    elif isinstance(source, (str, os.PathLike)):
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        name = os.fspath(source)
        if not Path(source).is_file():
            raise FileNotFoundError(f"{option}={name!r}: no such file (expected an image tokenizer .safetensors)")
        try:
            state = load_file(Path(source))
        except (SafetensorError, OSError, ValueError) as exc:
            raise ValueError(f"{name}: not a readable safetensors file ({exc})") from exc
    else:
        raise TypeError(f"expected an image tokenizer, a state dict or a .safetensors path, got {type(source).__name__}")
    found = _find_prefix(state, name, prefix, _prefix_option(option))
    pos = state.get(found + "pos_embed")
    grid = None
    if pos is not None:
        side = math.isqrt(pos.shape[1]) if pos.dim() == 3 else 0
        if pos.dim() != 3 or side * side != pos.shape[1]:
            raise ValueError(f"{name}: positions of shape {tuple(pos.shape)} are not a square grid [1, n*n, D]")
        grid = (side, side)
    return PatchProjection(state[found + PROJECTION_KEY], state.get(found + "proj.bias"), pos, grid, name)


def load_patch_projection(
    source: ProjectionSource,
    *,
    embed_dim: Optional[int] = None,
    patch_size: Optional[int] = None,
    in_channels: Optional[int] = None,
    prefix: Optional[str] = None,
    option: str = "source",
) -> PatchProjection:
    """Read an image tokenizer's patch projection (see the module docstring), checked and adapted.

    ``embed_dim`` / ``patch_size``: what the receiving tokenizer has (a mismatch is a
    ``ValueError`` naming both); ``in_channels``: channel count to adapt to. ``prefix``: the key
    prefix inside a larger checkpoint (``"tokenizers.image."``), found when omitted. ``option``:
    the caller's name for ``source`` in messages (``init_from``, ``inflate_from``; the prefix is
    then called ``init_prefix``, ``inflate_prefix``).
    Tensors are detached copies.
    """
    parts = _read_source(source, prefix, option)
    weight = parts.weight.detach()
    if weight.dim() != 4:
        raise ValueError(f"{parts.name}: the patch projection must be [D, C, p, p], got {tuple(weight.shape)}")
    dim, _, p, q = weight.shape
    if embed_dim is not None and dim != embed_dim:
        raise ValueError(f"{parts.name}: projection is {dim} wide, this tokenizer is {embed_dim}")
    if patch_size is not None and (p, q) != (patch_size, patch_size):
        raise ValueError(
            f"{parts.name}: patches are {p}x{q}, this tokenizer's are {patch_size}x{patch_size}; build both with the same patch_size"
        )
    pos = parts.pos_embed
    if pos is not None and (pos.dim() != 3 or pos.shape[-1] != dim):
        raise ValueError(f"{parts.name}: positions of shape {tuple(pos.shape)} do not match a {dim}-wide projection")
    if in_channels is not None:
        weight = sum_input_channels(weight, in_channels)
    return PatchProjection(
        weight.clone(),
        None if parts.bias is None else parts.bias.detach().clone(),
        None if pos is None else pos.detach().clone(),
        parts.grid if pos is not None else None,
        parts.name,
    )
