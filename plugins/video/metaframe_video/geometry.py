"""How many tokens a video configuration makes, and when that is too many. Torch-free.

The manifest's ``info`` and the tokenizer's warning both use these functions, so what
``metaframe list-modalities --format json`` reports is what the tokenizer produces.
"""

from __future__ import annotations

import warnings
from typing import Sequence

# Beyond this many tokens per clip, attention cost (quadratic in N) and memory dominate;
# ViT encoders are pre-trained on 197 tokens. 2048 leaves the default 1568 unwarned.
MAX_RECOMMENDED_TOKENS = 2048


def pair(value: int | Sequence[int], name: str) -> tuple[int, int]:
    """``224`` or ``[224, 160]`` → ``(224, 160)``; anything else is an error naming the option."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (value, value)
    items = tuple(value)
    if len(items) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in items):
        raise ValueError(f"{name}={value!r}: expected an int or a pair of ints [height, width]")
    return (int(items[0]), int(items[1]))


def token_grid(
    num_frames: int, image_size: int | Sequence[int], tubelet_size: int, patch_size: int
) -> tuple[int, int, int]:
    """The tubelet grid ``(T', H', W')`` = frames / t, height / p, width / p."""
    h, w = pair(image_size, "image_size")
    return (num_frames // tubelet_size, h // patch_size, w // patch_size)


def num_tokens(num_frames: int, image_size: int | Sequence[int], tubelet_size: int = 2, patch_size: int = 16) -> int:
    t, h, w = token_grid(num_frames, image_size, tubelet_size, patch_size)
    return t * h * w


def warn_if_long(tokens: int, what: str, limit: int = MAX_RECOMMENDED_TOKENS) -> None:
    """``warnings.warn`` when one clip becomes more tokens than an encoder handles comfortably."""
    if tokens > limit:
        warnings.warn(
            f"{what} gives {tokens} tokens per clip, more than {limit}: attention cost grows with the "
            "square of the sequence length. Use fewer frames, a smaller size, or a larger tubelet / patch.",
            UserWarning,
            stacklevel=3,
        )
