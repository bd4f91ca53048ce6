"""Fitting tokenizers before training: one streamed pass per fittable modality, on rank 0.

A fittable tokenizer (``metaframe.protocols.is_fittable``) sees the training split through a
DataLoader that reads only its own modality (a joint video + text run never decodes a video to
fit the text vocabulary), with the run's ``num_workers``. Rank 0 fits; the other processes
receive the fitted state and the tokenizer's tensors, so no rank reads the data twice.
"""

from __future__ import annotations

from typing import Any, Iterator, Sequence

import torch

from metaframe.modality import Modality
from metaframe.protocols import is_fittable
from metaframe.threads import worker_init

from .data import Example
from .distributed import Dist, broadcast_object
from .shards import read_source

FIT_CHUNK = 16
"""Samples per DataLoader item while fitting (workers read ahead in chunks of this size)."""


class _ModalityInputs(torch.utils.data.Dataset):
    """One modality's samples of the training examples, read on demand (in workers)."""

    def __init__(self, examples: Sequence[Example], name: str, modality: Modality, options: dict[str, Any]) -> None:
        self.examples = list(examples)
        self.name = name
        self.modality = modality
        self.options = options

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int) -> Any:
        ex = self.examples[index]
        source = ex.inputs[self.name]
        return read_source(self.modality, source, self.options) if ex.needs_read else source


def _as_list(items: list[Any]) -> list[Any]:
    return items


class FitSamples:
    """What ``fit`` receives: an iterable of one modality's training samples, streamed.

    ``len()`` is the number of samples; each iteration is a fresh pass over the split.
    """

    def __init__(self, dataset: _ModalityInputs, num_workers: int) -> None:
        self.dataset = dataset
        self.num_workers = num_workers

    def __len__(self) -> int:
        return len(self.dataset)

    def __iter__(self) -> Iterator[Any]:
        loader = torch.utils.data.DataLoader(
            self.dataset, batch_size=FIT_CHUNK, shuffle=False, collate_fn=_as_list, num_workers=self.num_workers,
            worker_init_fn=worker_init,
        )
        for chunk in loader:
            yield from chunk


def fit_tokenizer(tokenizer: torch.nn.Module, samples: FitSamples, info: Dist) -> dict[str, Any]:
    """Fit on rank 0 and give every rank the same fitted state and tensors; returns the state.

    The global random state is left as it was, so every rank (and a 1-process run) continues
    with the same generator whether or not it did the fitting.
    """
    with torch.random.fork_rng(devices=[]):
        if info.is_main:
            tokenizer.fit(samples)
            state = tokenizer.fitted_state()
            tensors = {k: v.detach().cpu() for k, v in tokenizer.state_dict().items()}
        else:
            state, tensors = None, None
        state, tensors = broadcast_object((state, tensors), info)
        if not info.is_main:
            tokenizer.load_fitted_state(state)
            tokenizer.load_state_dict(tensors)
    return state


def fit_tokenizers(
    tokenizers: dict[str, torch.nn.Module],
    examples: Sequence[Example],
    modalities: dict[str, Modality],
    reader_options: dict[str, dict[str, Any]],
    num_workers: int,
    info: Dist,
    saved: dict[str, dict[str, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Fitted state per fittable modality: ``saved`` (a resumed run) is loaded, else fitted."""
    fitted: dict[str, dict[str, Any]] = {}
    for name, tok in tokenizers.items():
        if not is_fittable(tok):
            continue
        if saved is not None:
            tok.load_fitted_state(saved[name])
            fitted[name] = saved[name]
            continue
        having = [e for e in examples if name in e.inputs]  # an align row may lack a modality
        dataset = _ModalityInputs(having, name, modalities[name], reader_options.get(name, {}))
        fitted[name] = fit_tokenizer(tok, FitSamples(dataset, num_workers), info)
    return fitted
