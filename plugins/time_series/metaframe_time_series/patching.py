"""Cutting padded series into patches without reading another sample's padding.

PatchTST's rule: patches of ``patch_len`` every ``stride`` steps; ``pad_end`` repeats the last
real value ``stride`` times first (its ReplicationPad1d), giving ``(L - patch_len) // stride + 2``
patches for a series of ``L`` steps (one fewer without it). Indices are clamped to each series'
own last real step, so the padding a batch adds never enters a real patch.
"""

from __future__ import annotations

import torch


def patch_counts(lengths: torch.Tensor, patch_len: int, stride: int, pad_end: bool) -> torch.Tensor:
    return (lengths - patch_len) // stride + 1 + int(pad_end)


def extract_patches(
    values: torch.Tensor, lengths: torch.Tensor, patch_len: int, stride: int, pad_end: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """``values`` ``[B, T, C]`` → (patches ``[B, n, C, patch_len]``, mask ``[B, n]``, True = real patch).

    Every length must be at least ``patch_len`` (callers check and name the source).
    """
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
