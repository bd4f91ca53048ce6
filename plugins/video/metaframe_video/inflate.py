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
tokenizer; ``inflate_prefix`` picks it inside a larger checkpoint, where it is found when the
file holds one projection), usable from configs. Reading, checking and channel adaptation are
``metaframe.nn.load_patch_projection``'s (the loader infrared and X-ray use); only the inflation
is video's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from metaframe.nn import load_patch_projection, resize_pos_embed

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


def inflate_into(video_tok: "TubeletTokenizer", source: Any, mode: str = "average", prefix: str | None = None) -> None:
    """Fill ``video_tok`` from an image tokenizer ``source`` (see the module docstring)."""
    if mode not in MODES:  # before any file is read
        raise ValueError(f"inflation mode {mode!r}: expected one of {', '.join(MODES)}")
    parts = load_patch_projection(
        source, embed_dim=video_tok.embed_dim, patch_size=video_tok.patch_size, in_channels=video_tok.in_channels,
        prefix=prefix, option="inflate_from",
    )
    inflated = inflate_weight(parts.weight, video_tok.tubelet_size, mode)
    with torch.no_grad():
        video_tok.proj.weight.copy_(inflated)
        if video_tok.proj.bias is not None:
            video_tok.proj.bias.copy_(parts.bias if parts.bias is not None else torch.zeros_like(video_tok.proj.bias))
        if parts.pos_embed is not None and parts.grid is not None:
            video_tok.space_embed.copy_(resize_pos_embed(parts.pos_embed, parts.grid, video_tok.grid[1:]))
        video_tok.time_embed.zero_()


def inflate_from_image(video_tok: "TubeletTokenizer", image_tok: Any, mode: str = "average") -> "TubeletTokenizer":
    """Copy an image patch tokenizer (e.g. ``get_modality('image').build_tokenizer(...)``) into ``video_tok``.

    Needs the same width and patch size; channel counts may differ (adapted by
    ``metaframe.nn.sum_input_channels``). Returns ``video_tok`` for chaining.
    """
    inflate_into(video_tok, image_tok, mode)
    return video_tok
