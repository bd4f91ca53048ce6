"""A variable-length test tokenizer shared by the encoder-path tests (merging, prompts)."""

from __future__ import annotations

import torch
from torch import nn

from metaframe.tokens import TokenBatch


class LengthsTokenizer(nn.Module):
    """``(values [B, L, 3], lengths [B])`` → projected tokens, padding masked past each length."""

    def __init__(self, embed_dim: int = 32) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.proj = nn.Linear(3, embed_dim)

    def forward(self, batch: tuple[torch.Tensor, torch.Tensor]) -> TokenBatch:
        values, lengths = batch
        return TokenBatch(self.proj(values), torch.arange(values.shape[1])[None] < lengths[:, None])
