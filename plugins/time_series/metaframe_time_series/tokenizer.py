"""The tokenizer factory the manifest names: ``mode="step"`` (official) or ``"patch"`` (PatchTST)."""

from __future__ import annotations

import inspect
from typing import Any

from torch import nn

from .patch_tokenizer import PatchTokenizer
from .step_tokenizer import StepTokenizer

MODES = ("step", "patch")


def build_tokenizer(embed_dim: int, mode: str = "step", **options: Any) -> nn.Module:
    """``step``: one token per step (Conv1d k=3 circular + sinusoidal [+ time features]);
    ``patch``: channel-independent patches with RevIN (options patch_len, stride, pad_end, ...)."""
    classes = {"step": StepTokenizer, "patch": PatchTokenizer}
    if mode not in classes:
        raise ValueError(f"mode={mode!r}: expected one of {', '.join(MODES)}")
    cls = classes[mode]
    allowed = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "embed_dim")]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise TypeError(f"time_series tokenizer mode={mode!r} has no option(s) {', '.join(unknown)}; its options: {', '.join(allowed)}")
    return cls(embed_dim, **options)
