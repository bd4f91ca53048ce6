"""The metaframe pytest plugin (entry point ``pytest11``): fixtures for plugin authors.

pytest loads this module in every run of every project where metaframe is installed, so it
imports no torch: only metaframe_registry and the core's torch-free hook plugin.

Fixtures:

- ``metaframe_registry``: an isolated registry (no installed plugins; the built-in heads)
  made the process default for the test, so ``metaframe.get_modality`` sees only what the
  test registers;
- ``register_modality``: ``register_modality("toy", tokenizer=Toy, reader=read_toy, ...)``
  registers a temporary modality into that registry (classes and functions may be given
  directly) and returns its manifest; it is gone after the test.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

import pytest

from metaframe_registry import ModalityManifest, Registry, use_registry


@pytest.fixture
def metaframe_registry() -> Iterator[Registry]:
    """An empty registry with the core's built-in heads, the default for this test."""
    from metaframe import builtin_plugin

    registry = Registry(entry_points=False)
    registry.register_plugin(builtin_plugin, name="metaframe:builtin")
    with use_registry(registry):
        yield registry


@pytest.fixture
def register_modality(metaframe_registry: Registry) -> Iterator[Callable[..., ModalityManifest]]:
    """A function registering temporary modalities into ``metaframe_registry``."""
    from .temporary import temporary_modality

    with contextlib.ExitStack() as stack:

        def register(name: str, **fields: Any) -> ModalityManifest:
            return stack.enter_context(temporary_modality(name, registry=metaframe_registry, **fields))

        yield register
