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

    ``fit`` receives an iterable of this modality's samples (what its reader returns) over the
    training split: ``metaframe train`` streams it from a DataLoader, reading only this modality,
    once, on rank 0; iterating it again reads the split again. ``fitted_state`` is
    JSON-serialisable and saved beside the checkpoint in readable form; the other ranks, and
    ``load_run``, rebuild from it with ``load_fitted_state``. An optional ``needs_fit`` attribute
    (default True) lets one class opt out at run time (e.g. fixed statistics): see ``is_fittable``.
    """

    def fit(self, samples: Iterable[Any]) -> None: ...

    def fitted_state(self) -> dict[str, Any]: ...

    def load_fitted_state(self, state: dict[str, Any]) -> None: ...


def is_fittable(tokenizer: Any) -> bool:
    """Whether the engine fits ``tokenizer`` before training (and restores its fitted state).

    True when it has callable ``fit``, ``fitted_state`` and ``load_fitted_state`` and does not
    set ``needs_fit = False``. The one test used by training, ``load_run`` and the test kit.
    """
    has_methods = all(callable(getattr(tokenizer, a, None)) for a in ("fit", "fitted_state", "load_fitted_state"))
    return has_methods and bool(getattr(tokenizer, "needs_fit", True))


@runtime_checkable
class Head(Protocol):
    """A trainable ``torch.nn.Module`` from encoder output to a task's prediction."""

    def __call__(self, encoded: EncodedBatch) -> torch.Tensor: ...


class EncoderIdentityLike(Protocol):
    """What a run records about its encoder: ``to_dict()`` with at least ``sha256`` and ``embed_dim``."""

    def to_dict(self) -> dict[str, Any]: ...


@runtime_checkable
class Encoder(Protocol):
    """Everything the engine needs of a frozen backbone (a ``torch.nn.Module``).

    - ``forward(tokens [B, N, D], mask [B, N] or None, True = real) -> [B, N, D]``; real
      tokens' outputs must not depend on padded ones;
    - ``embed_dim``: the width D tokenizers produce;
    - ``identity``: ``to_dict()`` holding ``sha256`` (of the frozen weights) and ``embed_dim``,
      plus anything readable (``backend``, ``preset``, ``depth``, ``source``). Runs store it and
      refuse to pair their trainable parts with other weights; the process cache shares one
      instance per ``(backend, sha256)``;
    - its parameters have ``requires_grad=False`` and it stays in eval mode;
    - optional: a writable ``gradient_checkpointing`` attribute, set from
      ``encoder.activation_checkpointing``.

    Register a factory ``factory(**options) -> Encoder`` with the ``metaframe_register_encoders``
    hook; configs select it with ``encoder: {name: NAME, options: {...}}``.
    """

    embed_dim: int

    @property
    def identity(self) -> EncoderIdentityLike: ...

    def __call__(self, tokens: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor: ...
