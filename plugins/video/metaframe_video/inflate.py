"""Initialising a video tokenizer from an image tokenizer (I3D-style inflation).

The 2-D patch projection ``[D, C, p, p]`` becomes the 3-D one ``[D, C, t, p, p]``:

- ``average`` (default): every time slice gets ``W / t``; a static clip then gives exactly
  the image tokens (the sum over the ``t`` frames of a tubelet restores ``W · frame``);
- ``central``: slice ``t // 2`` gets ``W``, the others zero (the tubelet looks at one frame;
  static clips give the image tokens too; moving clips see only that frame at first).

The bias is copied, the image's positions (resized to the video grid) become the space
embedding, and the time embedding is set to zero, so after inflation every tubelet step of a
static clip reproduces the image tokenizer's output; training then learns the time part.

Two routes: ``inflate_from_image(video_tok, image_tok)`` on live modules, or the tokenizer
option ``inflate_from=`` (a module, a state dict, or a ``.safetensors`` file of an image
tokenizer; ``inflate_prefix`` picks it inside a larger checkpoint), usable from configs.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import torch

from metaframe_image.tokenizer import resize_pos_embed, sum_input_channels

if TYPE_CHECKING:
    from .tokenizer import TubeletTokenizer

MODES = ("average", "central")


def inflate_weight(weight: torch.Tensor, tubelet_size: int, mode: str = "average") -> torch.Tensor:
    """``[D, C, p, p]`` → ``[D, C, t, p, p]`` by averaging or central-frame inflation."""
    if mode not in MODES:
        raise ValueError(f"inflation mode {mode!r}: expected one of {', '.join(MODES)}")
    if mode == "average":
        return weight[:, :, None].repeat(1, 1, tubelet_size, 1, 1) / tubelet_size
    out = weight.new_zeros(weight.shape[0], weight.shape[1], tubelet_size, *weight.shape[2:])
    out[:, :, tubelet_size // 2] = weight
    return out


def _from_state(state: Mapping[str, torch.Tensor], prefix: str, where: str) -> dict[str, Any]:
    key = prefix + "proj.weight"
    if key not in state:
        found = ", ".join(sorted(state)[:6]) or "nothing"
        raise KeyError(f"{where}: no {key!r} (an image tokenizer's patch projection); found {found}")
    pos = state.get(prefix + "pos_embed")
    grid = None
    if pos is not None:
        side = math.isqrt(pos.shape[1])
        if side * side != pos.shape[1]:
            raise ValueError(f"{where}: {prefix}pos_embed has {pos.shape[1]} positions, not a square grid")
        grid = (side, side)
    return {"weight": state[key], "bias": state.get(prefix + "proj.bias"), "pos": pos, "grid": grid}


def image_projection(source: Any, prefix: str | None = None) -> dict[str, Any]:
    """Weight, bias, positions and grid of an image patch tokenizer: module, state dict or file."""
    if isinstance(source, torch.nn.Module):
        proj = getattr(source, "proj", None)
        if not isinstance(proj, torch.nn.Conv2d):
            raise TypeError(
                f"inflation needs an image patch tokenizer with .proj (Conv2d), .pos_embed and .grid; "
                f"got {type(source).__name__}"
            )
        pos = getattr(source, "pos_embed", None)
        grid = tuple(source.grid) if hasattr(source, "grid") else None
        return {"weight": proj.weight, "bias": proj.bias, "pos": pos, "grid": grid if pos is not None else None}
    if isinstance(source, (str, os.PathLike)):
        from safetensors.torch import load_file

        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"inflate_from={os.fspath(source)!r}: no such file (expected an image tokenizer .safetensors)")
        return _from_state(load_file(str(path)), prefix or "", os.fspath(path))
    if isinstance(source, Mapping):
        return _from_state(source, prefix or "", "inflate_from state dict")
    raise TypeError(f"inflate_from: expected an image tokenizer, a state dict or a .safetensors path, got {type(source).__name__}")


def inflate_into(video_tok: "TubeletTokenizer", source: Any, mode: str = "average", prefix: str | None = None) -> None:
    """Fill ``video_tok`` from an image tokenizer ``source`` (see the module docstring)."""
    parts = image_projection(source, prefix)
    weight, bias, pos, grid = parts["weight"], parts["bias"], parts["pos"], parts["grid"]
    if weight.dim() != 4:
        raise ValueError(f"image patch projection must be [D, C, p, p], got {tuple(weight.shape)}")
    if weight.shape[0] != video_tok.embed_dim:
        raise ValueError(f"image tokenizer is {weight.shape[0]} wide, the video tokenizer {video_tok.embed_dim}")
    if tuple(weight.shape[-2:]) != (video_tok.patch_size, video_tok.patch_size):
        raise ValueError(
            f"image tokenizer patches are {weight.shape[-2]}x{weight.shape[-1]}, the video tokenizer's "
            f"{video_tok.patch_size}x{video_tok.patch_size}; build them with the same patch_size"
        )
    inflated = inflate_weight(sum_input_channels(weight.detach(), video_tok.in_channels), video_tok.tubelet_size, mode)
    with torch.no_grad():
        video_tok.proj.weight.copy_(inflated)
        if video_tok.proj.bias is not None:
            video_tok.proj.bias.copy_(bias.detach() if bias is not None else torch.zeros_like(video_tok.proj.bias))
        if pos is not None and grid is not None:
            video_tok.space_embed.copy_(resize_pos_embed(pos.detach(), grid, video_tok.grid[1:]))
        video_tok.time_embed.zero_()


def inflate_from_image(video_tok: "TubeletTokenizer", image_tok: Any, mode: str = "average") -> "TubeletTokenizer":
    """Copy an image patch tokenizer (e.g. ``get_modality('image').build_tokenizer(...)``) into ``video_tok``.

    Needs the same width and patch size; channel counts may differ (adapted as the image
    plugin does). Returns ``video_tok`` for chaining.
    """
    inflate_into(video_tok, image_tok, mode)
    return video_tok
