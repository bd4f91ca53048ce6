"""MetaModel: y = h(g(f(x))) with one frozen, shared encoder g.

Adds what the official checkpoints leave out: a learned [CLS], a learned modality-type
embedding per modality and a final LayerNorm. Several modalities at once form one joint
sequence (tokens and masks concatenated in the order the tokenizers were given).
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

import torch
from torch import nn

from .tokens import EncodedBatch, TokenBatch

if TYPE_CHECKING:
    from .adapters import LoRAAdapters
    from .encoder import BlockHook
    from .prompts import Prompts
    from .merging import TokenMerging

ENCODER_PREFIX = "encoder."


def _takes_block_hooks(encoder: nn.Module) -> bool:
    try:
        params = inspect.signature(encoder.forward).parameters.values()
    except (TypeError, ValueError):
        return True  # cannot tell: let the call say
    return any(p.name == "before_block" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def _no_block_hooks(encoder: nn.Module, batches: Mapping[str, TokenBatch], prompts: Prompts | None) -> Exception:
    """A ConfigError naming the encoder and the options that act before every block."""
    from metaframe_registry import ConfigError

    from .extras import BLOCK_POSITIONS

    options = [f"modalities.{n}.tokenizer.add_pos_each_block" for n, tb in batches.items() if BLOCK_POSITIONS in tb.extras]
    options += ["encoder.prompts.deep"] if prompts is not None and prompts.deep else []
    identity = getattr(encoder, "identity", None)
    name = getattr(identity, "backend", None) or type(encoder).__name__
    return ConfigError(
        f"{', '.join(options)}: acts before every block of the frozen encoder, but encoder {name!r} "
        f"({type(encoder).__name__}) has no blocks to hook; switch the option off or use an encoder with blocks"
    )


class MetaModel(nn.Module):
    token_merging: TokenMerging | None = None
    """Token merging in the frozen encoder (``metaframe.merging``), off by default; set it on any model, trained or not."""

    def __init__(
        self,
        encoder: nn.Module,
        tokenizers: Mapping[str, nn.Module],
        heads: Mapping[str, nn.Module] | None = None,
        *,
        adapters: LoRAAdapters | None = None,
        prompts: Prompts | None = None,
    ) -> None:
        """``adapters`` (``metaframe.adapters.LoRAAdapters``) and ``prompts`` (``metaframe.prompts.Prompts``)
        belong to this model, are trained and saved with it, and touch the shared encoder only while it runs."""
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
        self.adapters: LoRAAdapters | None = adapters
        self.prompts: Prompts | None = prompts
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
        first = next(iter(sizes.values()))
        if any(size != first for size in sizes.values()):  # not a set: a traced (symbolic) size is not hashable
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
        num_prompts = 0 if self.prompts is None else self.prompts.num_tokens
        if num_prompts:  # after [CLS], attended to like real tokens; their outputs are dropped below
            parts.append(self.prompts.first(batch, first.tokens.dtype))
            masks.append(torch.ones(batch, num_prompts, dtype=torch.bool, device=first.tokens.device))
            start += num_prompts
        for name, tb in batches.items():
            parts.append(tb.tokens + self.modality_embed[name].to(tb.tokens.dtype))
            masks.append(tb.valid_mask)
            segments[name] = slice(start, start + tb.num_tokens)
            start += tb.num_tokens
        tokens = torch.cat(parts, dim=1)
        mask = torch.cat(masks, dim=1)
        if self.adapters is not None:
            with self.adapters.applied(self.encoder):
                encoded = self.run_encoder(tokens, mask, batches, segments)
        else:
            encoded = self.run_encoder(tokens, mask, batches, segments)
        if num_prompts:
            keep = slice(1 + num_prompts, None)
            encoded = torch.cat([encoded[:, :1], encoded[:, keep]], dim=1)
            mask = torch.cat([mask[:, :1], mask[:, keep]], dim=1)
            segments = {n: slice(s.start - num_prompts, s.stop - num_prompts) for n, s in segments.items()}
        return EncodedBatch(self.norm(encoded), mask, segments, {n: tb.extras for n, tb in batches.items()})

    def run_encoder(
        self, tokens: torch.Tensor, mask: torch.Tensor, batches: Mapping[str, TokenBatch], segments: Mapping[str, slice]
    ) -> torch.Tensor:
        """The shared frozen encoder on the joint sequence, with this run's per-block hooks and token merging."""
        hooks = self.block_hooks(batches, segments)
        if self.token_merging is not None:
            from .merging import active_merging

            merging = active_merging(self.token_merging, self.encoder, hooks=len(hooks))
            if merging is not None:
                return self.encoder(tokens, mask, token_merging=merging)
        if not hooks:
            return self.encoder(tokens, mask)
        if not _takes_block_hooks(self.encoder):
            raise _no_block_hooks(self.encoder, batches, self.prompts)

        def before_block(index: int, x: torch.Tensor) -> torch.Tensor:
            for hook in hooks:
                x = hook(index, x)
            return x

        return self.encoder(tokens, mask, before_block=before_block)

    def block_hooks(self, batches: Mapping[str, TokenBatch], segments: Mapping[str, slice]) -> list[BlockHook]:
        """What this run changes before each frozen block (``FrozenEncoder.forward``'s ``before_block``)."""
        hooks: list[BlockHook] = []
        from .block_positions import block_positions_hook  # extras[BLOCK_POSITIONS]: positions before every block

        positions = block_positions_hook(batches, segments)
        if positions is not None:
            hooks.append(positions)
        if self.prompts is not None and self.prompts.deep:  # block i's own prompts replace the prompt slots
            hooks.append(self.prompts.hook(start=1))
        return hooks

    def forward(self, inputs: Mapping[str, Any], heads: Sequence[str] | None = None) -> dict[str, torch.Tensor]:
        """Outputs of every head (or of the named ones), keyed by head name."""
        encoded = self.encode(inputs)
        names = list(self.heads.keys()) if heads is None else list(heads)
        return {name: self.heads[name](encoded) for name in names}

    # -- the trainable parts -------------------------------------------------------------
    def trainable_parameters(self) -> Iterator[nn.Parameter]:
        """Tokenizers, [CLS], modality embeddings, final norm and heads: never the encoder."""
        for _, p in self.named_trainable_parameters():
            yield p

    def named_trainable_parameters(self) -> Iterator[tuple[str, nn.Parameter]]:
        """``trainable_parameters`` with their names (the first part names the owner: adapters, prompts…)."""
        for name, p in self.named_parameters():
            if not name.startswith(ENCODER_PREFIX) and p.requires_grad:
                yield name, p

    def parameter_counts(self) -> dict[str, int]:
        """Trainable parameters per part: tokenizers, adapters, prompts, heads, other ([CLS], modality embeddings, norm)."""
        counts = {"tokenizers": 0, "adapters": 0, "prompts": 0, "heads": 0, "other": 0}
        for name, p in self.named_trainable_parameters():
            part = name.split(".", 1)[0]
            counts[part if part in counts else "other"] += p.numel()
        counts["total"] = sum(counts.values())
        return counts

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
