"""Pydantic validation errors as one line per problem: ``field.path: problem; expected X, got Y``.

Discovery, ``metaframe validate`` and list-modalities show these instead of pydantic's
multi-line text with documentation URLs. An unknown field gets the closest known one.
"""

from __future__ import annotations

import difflib
from typing import Any


def _known_fields(model: Any, loc: tuple[Any, ...]) -> list[str]:
    """The field names of the (nested) model that holds ``loc[-1]``."""
    for part in loc[:-1]:
        field = getattr(model, "model_fields", {}).get(part)
        annotation = getattr(field, "annotation", None)
        if annotation is None or not hasattr(annotation, "model_fields"):
            return []
        model = annotation
    return sorted(getattr(model, "model_fields", {}))


def _given(err: dict[str, Any]) -> str:
    value = err.get("input")
    if err.get("type") == "missing" or isinstance(value, (dict, list, tuple, set)) or value is None:
        return ""
    text = repr(value)
    return f", got {text if len(text) <= 60 else text[:57] + '...'}"


def describe_error(err: dict[str, Any], model: Any = None) -> str:
    """One pydantic error dict as ``path: problem``."""
    loc = tuple(err.get("loc", ()))
    path = ".".join(str(p) for p in loc) or "<manifest>"
    kind = err.get("type", "")
    msg = str(err.get("msg", "")).strip()
    if kind == "extra_forbidden":
        known = _known_fields(model, loc) if model is not None else []
        close = difflib.get_close_matches(str(loc[-1]), known, n=1) if loc else []
        hint = f"did you mean {close[0]!r}?" if close else f"known fields: {', '.join(known) or '?'}"
        return f"{path}: unknown field; {hint}"
    if kind == "missing":
        return f"{path}: missing; this field is required"
    if msg.startswith("Value error, "):
        return f"{path}: {msg.removeprefix('Value error, ')}"
    if msg.startswith("Input should be "):
        return f"{path}: wrong value; expected {msg.removeprefix('Input should be ')}{_given(err)}"
    return f"{path}: {msg}{_given(err)}"


def describe_validation_error(exc: Any, model: Any = None) -> list[str]:
    """Every problem of a ``pydantic.ValidationError``, one line each."""
    return [" ".join(describe_error(err, model).split()) for err in exc.errors()]
