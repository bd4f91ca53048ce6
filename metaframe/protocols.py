"""The contracts a plugin implements: Tokenizer and Head (structural, typing.Protocol)."""

from __future__ import annotations

from typing import Any, Iterable, Protocol, runtime_checkable

import torch

from .tokens import EncodedBatch, TokenBatch


@runtime_checkable
class Tokenizer(Protocol):
    """A trainable ``torch.nn.Module`` turning a collated batch into tokens of width ``embed_dim``.

    It owns all positional information (the frozen encoder carries none) and returns a mask
    whenever its samples can differ in length.
    """

    embed_dim: int

    def __call__(self, batch: Any) -> TokenBatch: ...


@runtime_checkable
class FittableTokenizer(Tokenizer, Protocol):
    """A tokenizer with statistics fitted on training data (vocabularies, band ranges, ...).

    ``fitted_state`` is JSON-serialisable and saved beside the checkpoint in readable form.
    """

    def fit(self, samples: Iterable[Any]) -> None: ...

    def fitted_state(self) -> dict[str, Any]: ...

    def load_fitted_state(self, state: dict[str, Any]) -> None: ...


@runtime_checkable
class Head(Protocol):
    """A trainable ``torch.nn.Module`` from encoder output to a task's prediction."""

    def __call__(self, encoded: EncodedBatch) -> torch.Tensor: ...


@runtime_checkable
class Encoder(Protocol):
    """What MetaModel needs of a frozen backbone: tokens + mask in, tokens out."""

    embed_dim: int

    def __call__(self, tokens: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor: ...
