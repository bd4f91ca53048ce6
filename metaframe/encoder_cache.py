"""One frozen encoder per process: every run, evaluation and encode that names the same
encoder shares one instance (its weights are never copied, and never change).

Entries are keyed by the backend name and its factory options, then by weight identity, so
``{preset: tiny, seed: 0}`` and the same weights saved to a file resolve to one module.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from torch import nn

_LOCK = threading.Lock()
_BY_OPTIONS: dict[str, nn.Module] = {}
_BY_SHA256: dict[str, nn.Module] = {}


def _key(name: str, options: dict[str, Any]) -> str:
    return json.dumps([name, options], sort_keys=True, default=str)


def shared_encoder(name: str, options: dict[str, Any]) -> nn.Module:
    """The process's encoder for backend ``name`` with ``options``, built on first use."""
    from .api import build_encoder

    key = _key(name, options)
    with _LOCK:
        cached = _BY_OPTIONS.get(key)
        if cached is not None:
            return cached
        encoder = build_encoder(name, **options)
        sha = _sha256(encoder)
        if sha is not None:
            encoder = _BY_SHA256.setdefault(sha, encoder)
        _BY_OPTIONS[key] = encoder
        return encoder


def remember(encoder: nn.Module) -> nn.Module:
    """Register an encoder built elsewhere, returning the cached one of the same identity."""
    sha = _sha256(encoder)
    if sha is None:
        return encoder
    with _LOCK:
        return _BY_SHA256.setdefault(sha, encoder)


def clear_encoder_cache() -> None:
    """Forget every shared encoder (tests; freeing memory between experiments)."""
    with _LOCK:
        _BY_OPTIONS.clear()
        _BY_SHA256.clear()


def _sha256(encoder: nn.Module) -> str | None:
    identity = getattr(encoder, "identity", None)
    if identity is None:
        return None
    as_dict = identity.to_dict() if hasattr(identity, "to_dict") else dict(identity)
    sha = as_dict.get("sha256")
    return f"{as_dict.get('backend', 'vit')}:{sha}" if sha else None
