"""Bit depth → float: one rule for every image-like plugin, so 16-bit data is never truncated."""

from __future__ import annotations

import numpy as np


def scale_to_unit(array: np.ndarray) -> np.ndarray:
    """Integers → float32 divided by their type's maximum (uint8 by 255, uint16 by 65535; bool → 0/1);
    floats are kept (as float32) in their own units."""
    if array.dtype == bool:
        return array.astype(np.float32)
    if np.issubdtype(array.dtype, np.integer):
        return array.astype(np.float32) / float(np.iinfo(array.dtype).max)
    return array.astype(np.float32)
