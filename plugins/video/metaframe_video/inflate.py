"""Initialising a video tokenizer from an image tokenizer (I3D-style inflation).

The 2-D patch projection ``[D, C, p, p]`` becomes the 3-D one ``[D, C, t, p, p]``:

- ``average`` (default): every time slice gets ``W / t``; a static clip then gives exactly
  the image tokens (the sum over the ``t`` frames of a tubelet restores ``W · frame``);
- ``central``: slice ``t // 2`` gets ``W``, the others zero (the tubelet looks at one frame;
  static clips give the image tokens too; moving clips see only that frame at first).

The bias is copied, the image's positions (resized to the video grid) become the space
embedding, and the time embedding is set to zero, so after inflation every tubelet step of a
static clip reproduces the image tokenizer's output; training then learns the time part.
"""

from __future__ import annotations

from typing import Any

import torch

from metaframe_image.tokenizer import resize_pos_embed, sum_input_channels

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


def inflate_from_image(video_tok: TubeletTokenizer, image_tok: Any, mode: str = "average") -> TubeletTokenizer:
    """Copy an image patch tokenizer (e.g. ``get_modality('image').build_tokenizer(...)``) into ``video_tok``.

    Needs the same width and patch size; channel counts may differ (as the image plugin adapts
    them). Returns ``video_tok`` for chaining.
    """
    proj = getattr(image_tok, "proj", None)
    pos = getattr(image_tok, "pos_embed", None)
    if not isinstance(proj, torch.nn.Conv2d) or pos is None or not hasattr(image_tok, "grid"):
        raise TypeError(
            f"inflate_from_image needs an image patch tokenizer with .proj (Conv2d), .pos_embed and .grid; "
            f"got {type(image_tok).__name__}"
        )
    if proj.out_channels != video_tok.embed_dim:
        raise ValueError(f"image tokenizer is {proj.out_channels} wide, the video tokenizer {video_tok.embed_dim}")
    kernel = tuple(proj.kernel_size)
    if kernel != (video_tok.patch_size, video_tok.patch_size):
        raise ValueError(
            f"image tokenizer patches are {kernel[0]}x{kernel[1]}, the video tokenizer's "
            f"{video_tok.patch_size}x{video_tok.patch_size}; build them with the same patch_size"
        )
    with torch.no_grad():
        weight = sum_input_channels(proj.weight, video_tok.in_channels)
        video_tok.proj.weight.copy_(inflate_weight(weight, video_tok.tubelet_size, mode))
        if proj.bias is not None and video_tok.proj.bias is not None:
            video_tok.proj.bias.copy_(proj.bias)
        elif video_tok.proj.bias is not None:
            video_tok.proj.bias.zero_()
        video_tok.space_embed.copy_(resize_pos_embed(pos, tuple(image_tok.grid), video_tok.grid[1:]))
        video_tok.time_embed.zero_()
    return video_tok
