"""Fixed sinusoidal positions (Transformer / Informer): any length, nothing to learn or resize."""

from __future__ import annotations

import math

import torch


def sinusoidal_positions(length: int, dim: int, device: torch.device | str | None = None) -> torch.Tensor:
    """``[length, dim]`` float32: sin on even, cos on odd features, wavelengths up to 10000·2π."""
    position = torch.arange(length, dtype=torch.float32, device=device)[:, None]
    div = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32, device=device) * (-math.log(10000.0) / dim))
    pe = torch.zeros(length, dim, device=device)
    pe[:, 0::2] = torch.sin(position * div)
    pe[:, 1::2] = torch.cos(position * div[: dim // 2])
    return pe
