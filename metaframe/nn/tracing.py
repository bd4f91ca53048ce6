"""Whether torch.export is tracing: checks on a tensor's *values* (a length beyond the waveform, a
token id outside the vocabulary) cannot be held by an exported graph, so tokenizers skip them while
exporting and keep them in eager use (docs/export.md)."""

from __future__ import annotations

import torch


def exporting() -> bool:
    """True while ``torch.export`` traces. ``torch.compiler.is_exporting`` where this torch has it
    (newer releases), else ``is_compiling``, which is also true under export in the older ones."""
    probe = getattr(torch.compiler, "is_exporting", None) or getattr(torch.compiler, "is_compiling", None)
    return bool(probe()) if probe is not None else False
