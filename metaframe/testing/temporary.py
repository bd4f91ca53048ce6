"""Temporary modalities for tests and notebooks: register a manifest, use it, forget it.

A manifest names code by "module:attr" strings; here classes and functions can be given
directly: they are parked in ``metaframe.testing.scratch`` under unique names and named
from there, so a test can define its tokenizer in the test file itself.
"""

from __future__ import annotations

import contextlib
import itertools
from typing import Any, Callable, Iterator

from metaframe_registry import ModalityManifest, Registry, default_registry

from . import scratch

_counter = itertools.count()
_REFERENCE_FIELDS = ("tokenizer", "reader", "collate", "dataset", "examples")


def _reference(value: str | Callable[..., Any], name: str, field: str, parked: list[str]) -> str:
    if isinstance(value, str):
        return value
    if not callable(value):
        raise TypeError(f"{field} must be a 'module:attr' string or a callable, got {type(value).__name__}")
    attr = f"{name}_{field}_{next(_counter)}"
    setattr(scratch, attr, value)
    parked.append(attr)
    return f"{scratch.__name__}:{attr}"


def _forget(parked: list[str]) -> None:
    for attr in parked:
        if hasattr(scratch, attr):
            delattr(scratch, attr)


def make_manifest(name: str, *, _parked: list[str] | None = None, **fields: Any) -> ModalityManifest:
    """A ``ModalityManifest`` whose code fields may be callables instead of "module:attr" strings."""
    parked = _parked if _parked is not None else []
    values = dict(fields)
    for field in _REFERENCE_FIELDS:
        if values.get(field) is not None:
            values[field] = _reference(values[field], name, field, parked)
    values.setdefault("description", f"temporary modality {name!r} registered by a test")
    values.setdefault("distribution", "<temporary>")
    return ModalityManifest(name=name, **values)


@contextlib.contextmanager
def temporary_modality(name: str, *, registry: Registry | None = None, **fields: Any) -> Iterator[ModalityManifest]:
    """Register a modality for the duration of a ``with`` block.

    ``fields`` are ``ModalityManifest`` fields; ``tokenizer``, ``reader``, ``collate``,
    ``dataset`` and ``examples`` may be callables. Registers into ``registry`` (default: the
    process-wide one; the ``metaframe_registry`` fixture makes an isolated one the default).
    """
    target = registry if registry is not None else default_registry()
    parked: list[str] = []
    manifest = make_manifest(name, _parked=parked, **fields)
    target.register_modality(manifest, source="metaframe.testing")
    try:
        yield manifest
    finally:
        target.unregister_modality(name)
        _forget(parked)
