"""Which sample of a batch the collate or a tokenizer refused: the error names its file.

Readers name their file; collate and tokenizers see a whole batch and cannot. When a training or
validation batch fails with such a refusal (a wrong channel, band or feature count, too few
points), the batch is re-read one sample at a time to find the sample that does not fit, and the
run stops with one line naming it — not a traceback naming no file (issue 12).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Sequence

import torch

from metaframe.device import move_to
from metaframe.modality import CollateError
from metaframe_registry import MetaframeError

from .errors import RunError


class UnfitSampleError(RunError):
    """A sample its modality's collate or tokenizer refuses; ``source`` names it."""

    def __init__(self, source: str, problem: str) -> None:
        self.source = source
        self.problem = problem
        super().__init__(f"{source}: {problem}")


def is_unfit(exc: BaseException) -> bool:
    """A sample the collate, tokenizer or encoder refuses (shape, size, value): not an out-of-memory,
    and not an error metaframe raised on purpose (a ReadError or ConfigError already names its source)."""
    if isinstance(exc, CollateError):  # refused on purpose, but a batch cannot name its sample
        return True
    return isinstance(exc, (ValueError, RuntimeError)) and not isinstance(exc, _NOT_DATA)


# an out-of-memory, a failed collective (a stalled or dead rank), an error that already names its source
_NOT_DATA: tuple[type[BaseException], ...] = (torch.cuda.OutOfMemoryError, torch.distributed.DistError, MetaframeError)


def one_line(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())


def find_unfit(model: Any, dataset: Any, collate: Any, indices: Sequence[int], device: torch.device, exc: BaseException) -> RunError | None:
    """The error to raise for a batch of ``indices`` that failed with ``exc``.

    Each sample is read, collated and tokenized alone; the first one refused is named. When
    every sample fits alone and the collate refused the batch, the samples clash with each
    other (e.g. images of different channel counts): the batch's sources are named. Otherwise
    the failure was not about the data: None, and the caller re-raises ``exc`` as it was.
    """
    names = [dataset.examples[i].name for i in indices]
    was_training = model.training
    model.eval()  # no augmentation while probing: the refusal must not depend on a coin flip
    try:
        with torch.no_grad():
            for index, name in zip(indices, names):
                try:
                    inputs, _ = collate([dataset[index]])
                    model.tokenize(move_to(inputs, device))
                except Exception as single:  # noqa: BLE001 - filtered by is_unfit
                    if is_unfit(single):
                        return UnfitSampleError(name, f"does not fit the run: {one_line(single)}")
                    raise
    finally:
        model.train(was_training)
    if not isinstance(exc, CollateError):
        return None
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return UnfitSampleError(
        f"batch of {shown}",
        f"each sample fits alone but not together (make the reader give them one shape, e.g. reader channels): {one_line(exc)}",
    )


def batch_indices(sampler: Any, offset: int) -> list[int]:
    """This process's dataset indices of batch ``offset`` (counted from the sampler's start batch)."""
    batch = sampler.global_batches()[sampler.start_batch + offset]
    return [int(i) for i in batch[sampler.rank :: sampler.world]]


Locate = Callable[[int, BaseException], "RunError | None"]
"""``(batch offset, the refusal) -> the error naming the sample, or None``: ``find_unfit`` bound to a loader's batches."""


def named_batches(loader: Iterable[Any], locate: Locate) -> Iterator[tuple[int, Any]]:
    """``(offset, batch)`` from ``loader``; a batch its collate refuses raises ``locate``'s error instead."""
    batches = iter(loader)
    offset = 0
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except Exception as exc:  # noqa: BLE001 - a refusal names its sample; anything else is re-raised
            named = locate(offset, exc) if is_unfit(exc) else None
            if named is None:
                raise
            raise named from exc
        yield offset, batch
        offset += 1
