"""The ``none`` backend: no encoder at all, tokens go straight to the head.

The ablation that tells whether a frozen encoder contributes anything: the same tokenizers,
[CLS], final norm and heads, with the transformer blocks taken out.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn


@dataclass(frozen=True)
class NoEncoderIdentity:
    embed_dim: int
    sha256: str
    backend: str = "none"
    preset: str = "none"
    depth: int = 0
    num_heads: int = 0
    source: str = "no encoder (identity)"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class NoEncoder(nn.Module):
    """Returns its input tokens: a frozen encoder with zero blocks."""

    def __init__(self, embed_dim: int) -> None:
        super().__init__()
        self.embed_dim = embed_dim

    @property
    def identity(self) -> NoEncoderIdentity:
        return NoEncoderIdentity(self.embed_dim, hashlib.sha256(f"none:{self.embed_dim}".encode()).hexdigest())

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return tokens


def build_no_encoder(embed_dim: int = 192, random_init: bool = False, seed: int = 0) -> NoEncoder:
    """``encoder: {name: none, options: {embed_dim: 384}}``; the other options are accepted and ignored."""
    return NoEncoder(embed_dim)
