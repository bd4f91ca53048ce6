"""Values passed between stages: tokenizer → encoder → head."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .device import Movable


@dataclass
class TokenBatch(Movable):
    """A tokenizer's output.

    ``tokens`` ``[B, N, D]``; ``mask`` ``[B, N]`` boolean, True = real token, False = padding
    (None means every token is real). ``extras`` holds modality-specific tensors a head may
    need (point-cloud centres, graph node counts, RevIN statistics, ...), under the named keys
    of ``metaframe.extras`` (each documents its shape, dtype, writer and reader; use the
    constants, e.g. ``extras[metaframe.extras.REVIN_LOC]``, not string literals).
    """

    tokens: torch.Tensor
    mask: torch.Tensor | None = None
    extras: dict[str, torch.Tensor] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.tokens.dim() != 3:
            raise ValueError(f"TokenBatch.tokens must be [batch, tokens, dim], got shape {tuple(self.tokens.shape)}")
        if self.mask is None:
            self.mask = torch.ones(self.tokens.shape[:2], dtype=torch.bool, device=self.tokens.device)
        elif self.mask.shape != self.tokens.shape[:2]:
            raise ValueError(
                f"TokenBatch.mask must be [batch, tokens] = {tuple(self.tokens.shape[:2])}, got {tuple(self.mask.shape)}"
            )
        elif self.mask.dtype != torch.bool:
            raise ValueError(f"TokenBatch.mask must be boolean (True = real token), got {self.mask.dtype}")

    @property
    def valid_mask(self) -> torch.Tensor:
        assert self.mask is not None  # set in __post_init__
        return self.mask

    @property
    def batch_size(self) -> int:
        return self.tokens.shape[0]

    @property
    def num_tokens(self) -> int:
        return self.tokens.shape[1]

    @property
    def dim(self) -> int:
        return self.tokens.shape[2]


@dataclass
class EncodedBatch:
    """The frozen encoder's output, after MetaModel's final LayerNorm: what heads read.

    ``tokens`` ``[B, 1 + N, D]`` with the shared [CLS] at index 0; ``mask`` ``[B, 1 + N]``;
    ``segments`` maps each modality to its slice of the joint sequence; ``extras`` holds each
    modality's ``TokenBatch.extras``.
    """

    tokens: torch.Tensor
    mask: torch.Tensor
    segments: dict[str, slice]
    extras: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)

    @property
    def cls(self) -> torch.Tensor:
        return self.tokens[:, 0]

    def body(self, modality: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Tokens and mask without [CLS]; of one modality's segment when named."""
        if modality is None:
            return self.tokens[:, 1:], self.mask[:, 1:]
        if modality not in self.segments:
            raise KeyError(f"modality {modality!r} is not in this batch; present: {', '.join(self.segments)}")
        seg = self.segments[modality]
        return self.tokens[:, seg], self.mask[:, seg]
