"""How a collated batch takes part in Mixup / CutMix (config ``mixup``, metaframe.engine.mixup).

Three generic functions (``functools.singledispatch``) over the batch's type: ``mix`` (Mixup:
``lam * x + (1 - lam) * x[perm]``), ``cut`` (CutMix: the partner's values inside a box) and
``grid`` (the rows x columns a CutMix box is drawn on). Float tensors shaped ``[B, C, H, W]``
(images) or ``[B, T, F]`` (spectrograms) are handled here, over their last two axes. A plugin
whose collate returns its own batch type registers it next to its collate
(``@mix.register`` …), as the audio plugin does for its padded waveforms; a batch nobody
registered is refused by the engine with a ConfigError naming ``mixup.modalities``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class CutBox:
    """A CutMix box in relative coordinates: rows ``y0:y1`` and columns ``x0:x1``, each in [0, 1]."""

    y0: float
    y1: float
    x0: float
    x1: float

    @property
    def area(self) -> float:
        return (self.y1 - self.y0) * (self.x1 - self.x0)

    def rows(self, h: int) -> slice:
        return slice(int(round(self.y0 * h)), int(round(self.y1 * h)))

    def cols(self, w: int) -> slice:
        return slice(int(round(self.x0 * w)), int(round(self.x1 * w)))

    def span(self, length: int) -> slice:
        """A 1-d stretch of ``length`` with the box's *area* as its share, starting at ``x0``:
        a box drawn on an image cuts the same share of a joint model's waveform."""
        size = int(round(self.area * length))
        start = min(int(round(self.x0 * length)), length - size)
        return slice(start, start + size)


class NotMixable(TypeError):
    """The batch's type has no ``mix`` / ``cut`` / ``grid`` (the engine names the modality)."""


def mixable(batch: Any) -> bool:
    """Whether ``mix`` knows this batch (a plugin's registered type, or a 3-d / 4-d float tensor)."""
    if isinstance(batch, torch.Tensor):
        return batch.ndim in (3, 4) and batch.is_floating_point()
    return mix.dispatch(type(batch)) is not mix.dispatch(object)


@functools.singledispatch
def mix(batch: Any, perm: torch.Tensor, lam: float) -> Any:
    """Mixup: each sample blended with its partner ``perm[i]``, ``lam`` of itself."""
    raise NotMixable(type(batch).__name__)


@functools.singledispatch
def cut(batch: Any, perm: torch.Tensor, box: CutBox) -> Any:
    """CutMix: each sample with its partner's values inside ``box``."""
    raise NotMixable(type(batch).__name__)


@functools.singledispatch
def grid(batch: Any) -> tuple[int, int]:
    """(rows, columns) a CutMix box is drawn on when this batch is the first mixed modality."""
    raise NotMixable(type(batch).__name__)


@mix.register
def _mix_tensor(batch: torch.Tensor, perm: torch.Tensor, lam: float) -> torch.Tensor:
    return lam * batch + (1.0 - lam) * batch[perm.to(batch.device)]


@cut.register
def _cut_tensor(batch: torch.Tensor, perm: torch.Tensor, box: CutBox) -> torch.Tensor:
    h, w = batch.shape[-2:]
    rows, cols = box.rows(h), box.cols(w)
    out = batch.clone()
    out[..., rows, cols] = batch[perm.to(batch.device)][..., rows, cols]
    return out


@grid.register
def _grid_tensor(batch: torch.Tensor) -> tuple[int, int]:
    h, w = batch.shape[-2:]
    return int(h), int(w)
