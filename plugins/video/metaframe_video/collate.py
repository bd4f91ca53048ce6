"""Stacking clips ``[C, T, H, W]`` into ``[B, C, T, H, W]``; mismatched clips are refused."""

from __future__ import annotations

from typing import Sequence

import torch


def collate_clips(samples: Sequence[torch.Tensor]) -> torch.Tensor:
    """Clips must agree in channels, frames and size: never padded or cropped silently here."""
    if len(samples) == 0:
        raise ValueError("cannot collate an empty list of clips")
    for i, s in enumerate(samples):
        if not isinstance(s, torch.Tensor) or s.dim() != 4:
            shape = tuple(s.shape) if hasattr(s, "shape") else type(s).__name__
            raise ValueError(f"clip {i} is {shape}; expected a tensor [C, T, H, W] from the video reader")
    shapes = [tuple(s.shape) for s in samples]
    if len(set(shapes)) > 1:
        odd = next(i for i, s in enumerate(shapes) if s != shapes[0])
        raise ValueError(
            f"clips differ in shape [C, T, H, W]: clip 0 is {shapes[0]}, clip {odd} is {shapes[odd]}. "
            "Read them with the same num_frames and size (the reader resizes every frame to `size`; "
            "size=None keeps each video's own resolution)"
        )
    return torch.stack(list(samples))
