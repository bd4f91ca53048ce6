"""Lazy "module:attr" references: heavy code is imported only when first used."""

from __future__ import annotations

import importlib
import re
from functools import lru_cache
from typing import Any

from .errors import ResolveError

REFERENCE_PATTERN = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")


def is_reference(value: str) -> bool:
    return bool(REFERENCE_PATTERN.match(value))


@lru_cache(maxsize=None)
def resolve(reference: str) -> Any:
    """Import ``"package.module:attr.sub"`` and return the attribute.

    Errors name the reference and say whether the module or the attribute is missing.
    """
    if not is_reference(reference):
        raise ResolveError(f"{reference!r} is not a 'module:attr' reference (expected e.g. 'my_pkg.tok:build')")
    module_name, _, attr_path = reference.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except BaseException as exc:  # noqa: BLE001 - any import failure (sys.exit included) becomes a readable error
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise ResolveError(
            f"cannot import module {module_name!r} named by {reference!r}: {type(exc).__name__}: {exc}"
        ) from exc
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise ResolveError(
                f"module {module_name!r} has no attribute {attr_path!r} (named by {reference!r})"
            ) from exc
    return obj
