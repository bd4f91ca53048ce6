"""Moving batches between devices: one function for every batch shape, one mixin for batch dataclasses.

The engine, the test kit and every plugin's batch type use these, so a batch moves the same way
wherever it is moved.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

import torch

T = TypeVar("T")


def move_to(obj: T, device: torch.device | str, *, non_blocking: bool = False) -> T:
    """Every tensor inside ``obj`` (tensors, dicts, lists, tuples, namedtuples, dataclasses) on ``device``.

    Other objects with a ``.to(device)`` method are moved by it; anything else is returned as is.
    """
    if isinstance(obj, torch.Tensor):
        return obj.to(device, non_blocking=non_blocking)  # type: ignore[return-value]
    if isinstance(obj, dict):
        return {k: move_to(v, device, non_blocking=non_blocking) for k, v in obj.items()}  # type: ignore[return-value]
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # namedtuple
        return type(obj)(*(move_to(v, device, non_blocking=non_blocking) for v in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(move_to(v, device, non_blocking=non_blocking) for v in obj)  # type: ignore[return-value]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes = {
            f.name: move_to(getattr(obj, f.name), device, non_blocking=non_blocking)
            for f in dataclasses.fields(obj)
            if f.init
        }
        return dataclasses.replace(obj, **changes)  # type: ignore[type-var]
    to = getattr(obj, "to", None)
    if callable(to):
        try:
            return to(device)  # type: ignore[no-any-return]
        except TypeError:
            return obj
    return obj


class Movable:
    """Mixin for batch dataclasses: ``batch.to(device)`` moves every tensor field (see ``move_to``)."""

    def to(self: T, device: torch.device | str) -> T:
        if not dataclasses.is_dataclass(self):
            raise TypeError(f"{type(self).__name__} uses metaframe.device.Movable but is not a dataclass")
        changes = {f.name: move_to(getattr(self, f.name), device) for f in dataclasses.fields(self) if f.init}
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]
