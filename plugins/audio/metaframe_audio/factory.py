"""The tokenizer factory the manifest names."""

from __future__ import annotations

from typing import Any

from .tokenizer import AudioPatchTokenizer


def build_tokenizer(embed_dim: int, **options: Any) -> AudioPatchTokenizer:
    """``AudioPatchTokenizer``: fixed ``mean`` / ``std`` (AudioSet's by default), or with
    ``fit_stats=True`` statistics that ``fit`` computes from the training clips."""
    return AudioPatchTokenizer(embed_dim, **options)
