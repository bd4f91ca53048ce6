"""Built-in heads h. They read an EncodedBatch ([CLS] at index 0, mask) and pool as asked.

Registered through the same hook route as third-party heads (see builtin_plugin.py).
"""

from __future__ import annotations

from typing import Literal, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from metaframe_registry import ConfigError

from .tokens import EncodedBatch

Pooling = Literal["cls", "mean", "max", "cls+max+mean"]
POOLINGS: tuple[str, ...] = ("cls", "mean", "max", "cls+max+mean")


def masked_mean(tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    weights = mask.to(tokens.dtype).unsqueeze(-1)
    return (tokens * weights).sum(1) / weights.sum(1).clamp_min(1.0)


def masked_max(tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    filled = tokens.masked_fill(~mask.unsqueeze(-1), torch.finfo(tokens.dtype).min)
    out = filled.max(1).values
    return torch.where(mask.any(1, keepdim=True), out, torch.zeros_like(out))


class Pool(nn.Module):
    """Sequence → vector: [CLS], masked mean or max of the tokens, or all three concatenated."""

    def __init__(self, pooling: str = "cls", modality: str | None = None) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ConfigError(f"pooling {pooling!r} is not one of {', '.join(POOLINGS)}")
        self.pooling = pooling
        self.modality = modality

    def out_features(self, embed_dim: int) -> int:
        return embed_dim * (3 if self.pooling == "cls+max+mean" else 1)

    def forward(self, encoded: EncodedBatch) -> torch.Tensor:
        if self.pooling == "cls":
            return encoded.cls
        tokens, mask = encoded.body(self.modality)
        if self.pooling == "mean":
            return masked_mean(tokens, mask)
        if self.pooling == "max":
            return masked_max(tokens, mask)
        return torch.cat([encoded.cls, masked_max(tokens, mask), masked_mean(tokens, mask)], dim=-1)


class ClassificationHead(nn.Module):
    """Logits ``[B, num_classes]`` from a pooled vector."""

    def __init__(
        self, embed_dim: int, num_classes: int, pooling: str = "cls", hidden: int | None = None, dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.pool = Pool(pooling)
        width = self.pool.out_features(embed_dim)
        layers: list[nn.Module] = [nn.Dropout(dropout)] if dropout else []
        if hidden:
            layers += [nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, num_classes)]
        else:
            layers.append(nn.Linear(width, num_classes))
        self.mlp = nn.Sequential(*layers)
        self.num_classes = num_classes

    def forward(self, encoded: EncodedBatch) -> torch.Tensor:
        return self.mlp(self.pool(encoded))


class RegressionHead(nn.Module):
    """Real values ``[B, *out_shape]`` from a pooled vector (e.g. a forecast ``[horizon, channels]``)."""

    def __init__(self, embed_dim: int, out_shape: int | Sequence[int] = 1, pooling: str = "cls") -> None:
        super().__init__()
        self.out_shape = (out_shape,) if isinstance(out_shape, int) else tuple(out_shape)
        self.pool = Pool(pooling)
        self.linear = nn.Linear(self.pool.out_features(embed_dim), int(torch.tensor(self.out_shape).prod()))

    def forward(self, encoded: EncodedBatch) -> torch.Tensor:
        out = self.linear(self.pool(encoded))
        return out.reshape(out.shape[0], *self.out_shape)


class TokenHead(nn.Module):
    """Per-token outputs ``[B, N, out_features]`` for one modality's tokens (padding rows are zero)."""

    def __init__(self, embed_dim: int, out_features: int, modality: str | None = None) -> None:
        super().__init__()
        self.modality = modality
        self.linear = nn.Linear(embed_dim, out_features)

    def forward(self, encoded: EncodedBatch) -> torch.Tensor:
        modality = self.modality
        if modality is None and len(encoded.segments) == 1:
            modality = next(iter(encoded.segments))
        tokens, mask = encoded.body(modality)
        return self.linear(tokens) * mask.unsqueeze(-1).to(tokens.dtype)


class EmbeddingHead(nn.Module):
    """L2-normalised embeddings ``[B, dim]`` for retrieval."""

    def __init__(self, embed_dim: int, dim: int = 256, pooling: str = "cls") -> None:
        super().__init__()
        self.pool = Pool(pooling)
        self.proj = nn.Linear(self.pool.out_features(embed_dim), dim)

    def forward(self, encoded: EncodedBatch) -> torch.Tensor:
        return F.normalize(self.proj(self.pool(encoded)), dim=-1)
