"""LoRA adapters on the shared frozen encoder's linears, owned by one run, never installed for good.

The encoder is shared by every run in a process (``metaframe.encoder_cache``), so a run's
adapters are applied only while its own model runs: ``LoRAAdapters.applied(encoder)`` adds
forward hooks to the target ``nn.Linear`` modules that add ``scale * B(A(dropout(x)))`` to
their output and removes them on exit (also on an exception). The base weights never change,
so the encoder keeps its identity (sha256). A has shape ``[rank, in]`` (Kaiming-uniform, as in
the LoRA paper's reference code), B ``[out, rank]`` zeros: a fresh adapter changes nothing.
Each adapted linear adds ``rank * (in + out)`` trainable parameters; ``scale = alpha / rank``.

Targets by name: ``qkv`` and ``proj`` (attention), ``fc1`` and ``fc2`` (MLP), matched against the
last part of each linear's name inside a block (timm ViT blocks: ``attn.qkv``, ``attn.proj``,
``mlp.fc1``, ``mlp.fc2``).
"""

from __future__ import annotations

import contextlib
import copy
import math
from typing import Iterator, Sequence

import torch
from torch import nn

from metaframe_registry import ConfigError

TARGETS = ("qkv", "proj", "fc1", "fc2")


class LoRA(nn.Module):
    """One low-rank update ``scale * B @ A`` of a frozen linear ``[out, in]``."""

    def __init__(self, in_features: int, out_features: int, rank: int, alpha: float, dropout: float = 0.0) -> None:
        super().__init__()
        self.A = nn.Parameter(torch.empty(rank, in_features))
        self.B = nn.Parameter(torch.zeros(out_features, rank))
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))
        self.scale = alpha / rank
        self.dropout = nn.Dropout(dropout) if dropout else nn.Identity()

    def delta(self, x: torch.Tensor) -> torch.Tensor:
        """What the adapter adds to the linear's output for input ``x``."""
        h = self.dropout(x) @ self.A.to(x.dtype).t()
        return (h @ self.B.to(x.dtype).t()) * self.scale

    def weight_delta(self) -> torch.Tensor:
        return (self.B @ self.A) * self.scale


def _key(path: str) -> str:
    return path.replace(".", "__")  # ModuleDict keys may not hold dots


def find_targets(encoder: nn.Module, targets: Sequence[str]) -> dict[str, nn.Linear]:
    """``path inside the encoder → linear`` for every block linear named like a target (a ConfigError if none)."""
    unknown = [t for t in targets if t not in TARGETS]
    if unknown or not targets:
        shown = ", ".join(map(str, unknown)) if unknown else "[]"
        raise ConfigError(f"encoder.adapters.targets: {shown} — expected a non-empty list of {', '.join(TARGETS)}")
    blocks = getattr(encoder, "blocks", None)
    found: dict[str, nn.Linear] = {}
    names: set[str] = set()
    if isinstance(blocks, nn.Module):
        for path, module in blocks.named_modules(prefix="blocks"):
            if isinstance(module, nn.Linear):
                last = path.rsplit(".", 1)[-1]
                names.add(last)
                if last in targets:
                    found[path] = module
    missing = [t for t in targets if not any(p.rsplit(".", 1)[-1] == t for p in found)]
    if missing:
        has = ", ".join(sorted(names)) or "no linear layers in blocks"
        raise ConfigError(
            f"encoder.adapters.targets: {', '.join(missing)} — not a linear of this encoder's blocks "
            f"({type(encoder).__name__} has: {has})"
        )
    return found


class LoRAAdapters(nn.Module):
    """A run's LoRA adapters for the linears of one encoder shape (``MetaModel.adapters``)."""

    def __init__(
        self, encoder: nn.Module, rank: int = 8, alpha: float = 16.0, targets: Sequence[str] = ("qkv", "proj"),
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if rank <= 0:
            raise ConfigError(f"encoder.adapters.rank: {rank} — must be > 0")
        self.rank, self.alpha, self.targets = rank, float(alpha), list(targets)
        linears = find_targets(encoder, targets)
        self.paths = list(linears)
        self.lora = nn.ModuleDict(
            {_key(p): LoRA(m.in_features, m.out_features, rank, alpha, dropout) for p, m in linears.items()}
        )

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    @contextlib.contextmanager
    def applied(self, encoder: nn.Module) -> Iterator[None]:
        """The adapters active on ``encoder`` inside the block; hooks removed on exit."""
        if getattr(encoder, "gradient_checkpointing", False) and torch.is_grad_enabled():
            # a recomputed block in backward would run without the hooks (removed by then)
            raise ConfigError(
                "encoder.adapters: cannot be combined with encoder.activation_checkpointing (the recomputed "
                "blocks would run without the adapters); switch one of them off"
            )
        handles = []
        try:
            for path in self.paths:
                adapter = self.lora[_key(path)]
                handles.append(encoder.get_submodule(path).register_forward_hook(_hook(adapter)))
            yield
        finally:
            for handle in handles:
                handle.remove()


def _hook(adapter: LoRA):  # type: ignore[no-untyped-def]
    def add_delta(module: nn.Module, args: tuple[torch.Tensor, ...], output: torch.Tensor) -> torch.Tensor:
        return output + adapter.delta(args[0])

    return add_delta


def merge_adapters(model: nn.Module) -> nn.Module:
    """A copy of ``model.encoder`` with every adapter merged into its weights (``W + scale * B @ A``), for export.

    The shared encoder is untouched; the copy's identity (sha256) is that of its merged weights.
    """
    adapters: LoRAAdapters | None = getattr(model, "adapters", None)
    merged = copy.deepcopy(model.encoder)
    if adapters is None:
        return merged
    with torch.no_grad():
        for path in adapters.paths:
            linear = merged.get_submodule(path)
            delta = adapters.lora[_key(path)].weight_delta()
            linear.weight.add_(delta.to(linear.weight.device, linear.weight.dtype))
    if hasattr(merged, "_sha256"):
        merged._sha256 = None
    if hasattr(merged, "source"):
        merged.source = f"{merged.source} + LoRA(rank={adapters.rank}) merged"
    return merged


__all__ = ["LoRA", "LoRAAdapters", "TARGETS", "find_targets", "merge_adapters"]
