"""The text tokenizer module: learned token embedding (vocab × D) + learned positions, with a mask.

It takes ids + mask (a ``TextBatch`` from collate, a dict, a tuple or bare ids); the subword
step itself ran in collate. Padded positions are zero and masked, so a text's tokens do not
depend on the other texts of its batch.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from metaframe.nn.tracing import exporting
from metaframe.tokens import TokenBatch

from .collate import TextBatch
from .vocab import CLIP, load_vocab


def ids_and_mask(batch: Any) -> tuple[torch.Tensor, torch.Tensor, int | None]:
    """Accept a TextBatch, ``{"input_ids", "mask" | "attention_mask"}``, ``(ids, mask)`` or ids."""
    if isinstance(batch, TextBatch):
        return batch.input_ids, batch.mask, batch.vocab_size
    if isinstance(batch, dict):
        ids = batch["input_ids"]
        mask = batch.get("mask", batch.get("attention_mask"))
    elif isinstance(batch, (tuple, list)) and len(batch) == 2 and isinstance(batch[0], torch.Tensor):
        ids, mask = batch
    elif isinstance(batch, torch.Tensor):
        ids, mask = batch, None
    else:
        raise TypeError(
            f"text tokenizer got a {type(batch).__name__}; expected a TextBatch (modality.collate), "
            "a dict with input_ids / mask, an (ids, mask) tuple or an id tensor"
        )
    if mask is None:
        mask = torch.ones(ids.shape, dtype=torch.bool, device=ids.device)
    return ids, mask.to(torch.bool), None


class TextTokenizer(nn.Module):
    """``Embedding(vocab_size, D)`` + learned positions ``[context_length, D]`` (CLIP's text recipe)."""

    def __init__(
        self,
        embed_dim: int,
        vocab: str = CLIP,
        context_length: int = 77,
        lowercase: bool | None = None,
        vocab_size: int | None = None,
    ) -> None:
        super().__init__()
        if vocab_size is None:
            vocab_size = load_vocab(vocab, context_length, lowercase).vocab_size
        self.embed_dim = embed_dim
        self.vocab = vocab
        self.vocab_size = int(vocab_size)
        self.context_length = int(context_length)
        self.token_embed = nn.Embedding(self.vocab_size, embed_dim)
        self.pos_embed = nn.Parameter(torch.empty(self.context_length, embed_dim))
        nn.init.normal_(self.token_embed.weight, std=0.02)
        nn.init.normal_(self.pos_embed, std=0.01)

    def forward(self, batch: Any) -> TokenBatch:
        ids, mask, batch_vocab = ids_and_mask(batch)
        if batch_vocab is not None and batch_vocab != self.vocab_size:
            raise ValueError(
                f"the batch was tokenized with a vocabulary of {batch_vocab} entries but this tokenizer "
                f"embeds {self.vocab_size} ({self.vocab!r}); read the texts with the same vocab option"
            )
        if ids.dim() != 2 or mask.shape != ids.shape:
            raise ValueError(f"expected ids and mask [batch, length], got {tuple(ids.shape)} and {tuple(mask.shape)}")
        if ids.shape[1] > self.context_length:
            raise ValueError(
                f"{ids.shape[1]} tokens exceed the context length {self.context_length}; truncate in collate "
                "(the reader's context_length option) or build the tokenizer with a larger context_length"
            )
        device = self.token_embed.weight.device
        ids, mask = ids.to(device), mask.to(device)
        if not exporting():  # a check on the ids' values: a graph cannot hold it (collate made them)
            real = ids[mask]
            if real.numel() and (int(real.min()) < 0 or int(real.max()) >= self.vocab_size):
                raise ValueError(f"token ids must lie in [0, {self.vocab_size}), found {int(real.min())}..{int(real.max())}")
        safe = ids.masked_fill(~mask, 0)
        tokens = self.token_embed(safe) + self.pos_embed[: ids.shape[1]]
        tokens = tokens * mask.unsqueeze(-1).to(tokens.dtype)
        return TokenBatch(tokens, mask)

    def extra_repr(self) -> str:
        return f"vocab={self.vocab!r}, vocab_size={self.vocab_size}, context_length={self.context_length}, embed_dim={self.embed_dim}"
