"""Helpers for batches of any shape: move them between devices, compare real tokens."""

from __future__ import annotations

import torch

from metaframe.device import move_to

__all__ = ["move_to", "plain_tensor_attributes", "real_rows"]


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
