"""MetaModel: y = h(g(f(x))) with one frozen, shared encoder g.

Adds what the official checkpoints leave out: a learned [CLS], a learned modality-type
embedding per modality and a final LayerNorm. Several modalities at once form one joint
sequence (tokens and masks concatenated in the order the tokenizers were given).
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping, Sequence

import torch
from torch import nn

from .tokens import EncodedBatch, TokenBatch

ENCODER_PREFIX = "encoder."


class MetaModel(nn.Module):
    def __init__(
        self,
        encoder: nn.Module,
        tokenizers: Mapping[str, nn.Module],
        heads: Mapping[str, nn.Module] | None = None,
    ) -> None:
        super().__init__()
        if not tokenizers:
            raise ValueError("MetaModel needs at least one tokenizer, e.g. tokenizers={'image': tokenizer}")
        self.embed_dim: int = int(getattr(encoder, "embed_dim"))
        for name, tok in tokenizers.items():
            got = getattr(tok, "embed_dim", None)
            if got != self.embed_dim:
                raise ValueError(
                    f"tokenizer {name!r} produces width {got}, but the encoder is {self.embed_dim} wide; "
                    f"build it with embed_dim={self.embed_dim}"
                )
        self.encoder = encoder  # shared: the same instance may serve many MetaModels
        encoder.requires_grad_(False)  # frozen whatever the backend: only tokenizers and heads learn
        encoder.train(False)
        self.tokenizers = nn.ModuleDict(dict(tokenizers))
        self.heads = nn.ModuleDict(dict(heads or {}))
        self.cls_token = nn.Parameter(torch.zeros(1, 1, self.embed_dim))
        self.modality_embed = nn.ParameterDict(
            {name: nn.Parameter(torch.zeros(1, 1, self.embed_dim)) for name in tokenizers}
        )
        self.norm = nn.LayerNorm(self.embed_dim)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        for p in self.modality_embed.values():
            nn.init.trunc_normal_(p, std=0.02)

    def train(self, mode: bool = True) -> "MetaModel":
        """Tokenizers and heads follow ``mode``; the frozen encoder stays in eval (dropout off)."""
        super().train(mode)
        self.encoder.train(False)
        return self

    @property
    def modalities(self) -> list[str]:
        return list(self.tokenizers.keys())

    def tokenize(self, inputs: Mapping[str, Any]) -> dict[str, TokenBatch]:
        unknown = [m for m in inputs if m not in self.tokenizers]
        if unknown:
            raise KeyError(f"no tokenizer for modality {unknown[0]!r}; this model has: {', '.join(self.modalities)}")
        out: dict[str, TokenBatch] = {}
        for name in self.modalities:  # fixed order, whatever the order of `inputs`
            if name not in inputs:
                continue
            tb = self.tokenizers[name](inputs[name])
            if not isinstance(tb, TokenBatch):
                raise TypeError(f"tokenizer {name!r} returned {type(tb).__name__}, expected metaframe.TokenBatch")
            if tb.dim != self.embed_dim:
                raise ValueError(f"tokenizer {name!r} returned width {tb.dim}, expected {self.embed_dim}")
            out[name] = tb
        if not out:
            raise ValueError(f"no inputs given; pass a dict keyed by modality ({', '.join(self.modalities)})")
        sizes = {name: tb.batch_size for name, tb in out.items()}
        if len(set(sizes.values())) > 1:
            raise ValueError(f"modalities in one joint batch must have the same batch size, got {sizes}")
        return out

    def encode(self, inputs: Mapping[str, Any]) -> EncodedBatch:
        """Tokenize every given modality, build the joint sequence and run the frozen encoder."""
        batches = self.tokenize(inputs)
        first = next(iter(batches.values()))
        batch = first.batch_size
        parts = [self.cls_token.expand(batch, -1, -1).to(first.tokens.dtype)]
        masks = [torch.ones(batch, 1, dtype=torch.bool, device=first.tokens.device)]
        segments: dict[str, slice] = {}
        start = 1
        for name, tb in batches.items():
            parts.append(tb.tokens + self.modality_embed[name].to(tb.tokens.dtype))
            masks.append(tb.valid_mask)
            segments[name] = slice(start, start + tb.num_tokens)
            start += tb.num_tokens
        tokens = torch.cat(parts, dim=1)
        mask = torch.cat(masks, dim=1)
        encoded = self.encoder(tokens, mask)
        return EncodedBatch(self.norm(encoded), mask, segments, {n: tb.extras for n, tb in batches.items()})

    def forward(self, inputs: Mapping[str, Any], heads: Sequence[str] | None = None) -> dict[str, torch.Tensor]:
        """Outputs of every head (or of the named ones), keyed by head name."""
        encoded = self.encode(inputs)
        names = list(self.heads.keys()) if heads is None else list(heads)
        return {name: self.heads[name](encoded) for name in names}

    # -- the trainable parts -------------------------------------------------------------
    def trainable_parameters(self) -> Iterator[nn.Parameter]:
        """Tokenizers, [CLS], modality embeddings, final norm and heads: never the encoder."""
        for name, p in self.named_parameters():
            if not name.startswith(ENCODER_PREFIX) and p.requires_grad:
                yield p

    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.state_dict().items() if not k.startswith(ENCODER_PREFIX)}

    def load_trainable_state_dict(self, state: Mapping[str, torch.Tensor], strict: bool = True) -> None:
        if any(k.startswith(ENCODER_PREFIX) for k in state):
            raise ValueError("a trainable state_dict must not hold encoder weights")
        expected = set(self.trainable_state_dict())
        missing = sorted(expected - set(state))
        unexpected = sorted(set(state) - expected)
        if strict and (missing or unexpected):
            raise KeyError(
                "trainable state does not match this model: "
                f"missing {missing[:8]}{' …' if len(missing) > 8 else ''}, "
                f"unexpected {unexpected[:8]}{' …' if len(unexpected) > 8 else ''}"
            )
        self.load_state_dict(dict(state), strict=False)
