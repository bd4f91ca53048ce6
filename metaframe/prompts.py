"""Visual prompt tuning (VPT): learned prompt tokens in the frozen encoder's input, owned by the run.

Shallow: ``num_tokens`` learned tokens inserted right after [CLS] (mask True: attended to like
real tokens). Deep: one set per block; before block ``i > 0`` the prompt slots are replaced by
that block's prompts (``FrozenEncoder.forward``'s ``before_block``), as in the VPT paper.
The encoder's outputs at the prompt slots are dropped again by ``MetaModel.encode``, so heads,
pooling and segments see the same sequence as without prompts. Prompts start as truncated
normal with std 0.02, like [CLS] (the paper's Xavier-uniform bound depends on a patch size,
which a modality-agnostic model does not have).
"""

from __future__ import annotations

import torch
from torch import nn

from metaframe_registry import ConfigError


class Prompts(nn.Module):
    """``tokens [depth or 1, num_tokens, D]``: the run's prompt tokens (``MetaModel.prompts``)."""

    def __init__(self, embed_dim: int, num_tokens: int, deep: bool = False, depth: int = 1) -> None:
        super().__init__()
        if num_tokens <= 0:
            raise ConfigError(f"encoder.prompts.num_tokens: {num_tokens} — must be > 0")
        if deep and depth <= 0:
            raise ConfigError("encoder.prompts.deep: the encoder has no blocks to prompt")
        self.num_tokens, self.deep = num_tokens, deep
        self.tokens = nn.Parameter(torch.zeros(depth if deep else 1, num_tokens, embed_dim))
        nn.init.trunc_normal_(self.tokens, std=0.02)

    def first(self, batch: int, dtype: torch.dtype) -> torch.Tensor:
        """``[B, P, D]``: the prompts inserted after [CLS] (block 0's for deep prompts)."""
        return self.tokens[0].to(dtype).unsqueeze(0).expand(batch, -1, -1)

    def hook(self, start: int = 1):  # type: ignore[no-untyped-def]
        """The ``before_block`` hook replacing slots ``start:start+P`` by block ``i``'s prompts (deep only)."""
        stop = start + self.num_tokens

        def replace_prompts(index: int, x: torch.Tensor) -> torch.Tensor:
            if index == 0 or index >= self.tokens.shape[0]:
                return x
            p = self.tokens[index].to(x.dtype).unsqueeze(0).expand(x.shape[0], -1, -1)
            return torch.cat([x[:, :start], p, x[:, stop:]], dim=1)

        return replace_prompts

    def num_parameters(self) -> int:
        return self.tokens.numel()


__all__ = ["Prompts"]
