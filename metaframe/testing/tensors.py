"""Helpers for batches of any shape: move them between devices, compare real tokens."""

from __future__ import annotations

import dataclasses
from typing import Any

import torch


def move_to(obj: Any, device: torch.device | str) -> Any:
    """Move every tensor inside a batch (tensors, dicts, lists, tuples, dataclasses, ``.to`` objects)."""
    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if isinstance(obj, dict):
        return {k: move_to(v, device) for k, v in obj.items()}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # namedtuple
        return type(obj)(*(move_to(v, device) for v in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(move_to(v, device) for v in obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes = {f.name: move_to(getattr(obj, f.name), device) for f in dataclasses.fields(obj) if f.init}
        return dataclasses.replace(obj, **changes)
    to = getattr(obj, "to", None)
    if callable(to):
        return to(device)
    return obj


def plain_tensor_attributes(module: torch.nn.Module) -> list[str]:
    """Tensors stored as plain attributes (not parameters or buffers): ``.to(device)`` leaves them behind."""
    found = []
    for prefix, sub in module.named_modules():
        for attr, value in vars(sub).items():
            if isinstance(value, torch.Tensor) and not isinstance(value, torch.nn.Parameter):
                found.append(f"{prefix + '.' if prefix else ''}{attr}")
    return found


def real_rows(tokens: torch.Tensor, mask: torch.Tensor, index: int) -> torch.Tensor:
    """The rows of sample ``index`` whose mask is True, in order."""
    return tokens[index][mask[index]]
