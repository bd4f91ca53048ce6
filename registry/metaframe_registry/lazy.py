"""One lazy module ``__getattr__`` for every package that keeps heavy names off its import.

A package lists ``{name: "module.path"}`` and writes
``__getattr__, __dir__ = lazy_module(__name__, _LAZY)``; the name is imported on first access
and cached in the package's globals (PEP 562), so ``import package`` stays light.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, Callable, Mapping


def lazy_module(package: str, names: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``(__getattr__, __dir__)`` pair for ``package`` serving ``names`` lazily."""

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(names))

    return __getattr__, __dir__
