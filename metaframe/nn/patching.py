"""Cutting padded series into patches along time without reading another sample's padding.

PatchTST's rule: patches of ``patch_len`` every ``stride`` steps; ``pad_end`` repeats the last
real value ``stride`` times first (its ReplicationPad1d), giving ``(L - patch_len) // stride + 2``
patches for a series of ``L`` steps (one fewer without it). Indices are clamped to each series'
own last real step, so the padding a batch adds never enters a real patch.
"""

from __future__ import annotations

from typing import Sequence

import torch

from metaframe_registry import ReadError


def patch_counts(lengths: torch.Tensor, patch_len: int, stride: int, pad_end: bool = True) -> torch.Tensor:
    """``[B]`` number of real patches of each series of ``lengths`` ``[B]`` steps."""
    return (lengths - patch_len) // stride + 1 + int(pad_end)


def check_min_length(
    lengths: torch.Tensor, patch_len: int, sources: Sequence[str | None] = (), hint: str = "use longer series or a smaller patch_len"
) -> None:
    """A series shorter than one patch is a ``ReadError`` naming its source (``sources[i]``, else its batch index)."""
    short = (lengths < patch_len).nonzero().flatten()
    if short.numel():
        i = int(short[0])
        source = sources[i] if i < len(sources) and sources[i] else f"<batch item {i}>"
        raise ReadError(
            source, f"series has {int(lengths[i])} steps, shorter than one patch (patch_len={patch_len}); {hint}"
        )


def extract_patches(
    values: torch.Tensor, lengths: torch.Tensor, patch_len: int, stride: int, pad_end: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """``values`` ``[B, T, C]`` → (patches ``[B, n, C, patch_len]``, mask ``[B, n]``, True = real patch).

    Every length must be at least ``patch_len`` (call :func:`check_min_length` first).
    """
    if patch_len < 1 or stride < 1:
        raise ValueError(f"patch_len and stride must be >= 1, got patch_len={patch_len}, stride={stride}")
    b, _, c = values.shape
    counts = patch_counts(lengths, patch_len, stride, pad_end)
    n = int(counts.max())
    device = values.device
    index = torch.arange(n, device=device)[:, None] * stride + torch.arange(patch_len, device=device)[None]
    index = torch.minimum(index[None], (lengths - 1).to(device)[:, None, None])  # [B, n, P]
    gathered = values.gather(1, index.reshape(b, n * patch_len, 1).expand(-1, -1, c))
    patches = gathered.reshape(b, n, patch_len, c).permute(0, 1, 3, 2)
    mask = torch.arange(n, device=device)[None] < counts.to(device)[:, None]
    return patches, mask
