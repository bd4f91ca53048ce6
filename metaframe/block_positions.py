"""Positions added before every frozen block: ``extras[BLOCK_POSITIONS]`` → a ``before_block`` hook.

The official point-cloud model adds its centre positions to the input of each block, not once
at the input. Any tokenizer may ask for that by writing ``metaframe.extras.BLOCK_POSITIONS``
(``[B, N, D]``, its own tokens' positions); ``MetaModel`` places every modality's positions at
its segment of the joint sequence (zeros for [CLS], prompts and other modalities) and adds the
result before each block through ``FrozenEncoder.forward``'s ``before_block``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

import torch

from .extras import BLOCK_POSITIONS
from .tokens import TokenBatch

if TYPE_CHECKING:
    from .encoder import BlockHook


def joint_block_positions(
    batches: Mapping[str, TokenBatch], segments: Mapping[str, slice], length: int
) -> torch.Tensor | None:
    """``[B, length, D]``: each modality's BLOCK_POSITIONS at its segment, zeros elsewhere; None when none wrote any."""
    written = {name: tb.extras[BLOCK_POSITIONS] for name, tb in batches.items() if BLOCK_POSITIONS in tb.extras}
    if not written:
        return None
    first = next(iter(written.values()))
    out: torch.Tensor | None = None
    for name, pos in written.items():
        tb = batches[name]
        if pos.shape != tb.tokens.shape:
            raise ValueError(
                f"tokenizer {name!r}: extras[{BLOCK_POSITIONS!r}] must be [batch, tokens, dim] = "
                f"{tuple(tb.tokens.shape)} like its tokens, got {tuple(pos.shape)}"
            )
        seg = segments[name]
        if seg.stop > length:
            raise ValueError(f"modality {name!r}: segment {seg.start}:{seg.stop} lies outside the {length}-token joint sequence")
        if out is None:
            out = first.new_zeros(first.shape[0], length, first.shape[2])
        out[:, seg] = (pos * tb.valid_mask.unsqueeze(-1).to(pos.dtype)).to(out.dtype)  # padding gets no position
    return out


def block_positions_hook(batches: Mapping[str, TokenBatch], segments: Mapping[str, slice]) -> BlockHook | None:
    """The hook adding the joint positions before every block, or None when no tokenizer wrote BLOCK_POSITIONS.

    The joint tensor is built on the first call from the block input's length, so tokens another
    hook or MetaModel put outside the modalities' segments (prompts) get zeros.
    """
    if not any(BLOCK_POSITIONS in tb.extras for tb in batches.values()):
        return None
    cache: dict[int, torch.Tensor] = {}

    def add_positions(index: int, x: torch.Tensor) -> torch.Tensor:
        length = x.shape[1]
        if length not in cache:
            joint = joint_block_positions(batches, segments, length)
            assert joint is not None  # checked above
            cache[length] = joint
        return x + cache[length].to(device=x.device, dtype=x.dtype)

    return add_positions


__all__ = ["block_positions_hook", "joint_block_positions"]
