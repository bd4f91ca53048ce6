"""Options checked against a factory's signature before it is called.

``metaframe.build_head("classification", embed_dim=..., poling="mean")`` would otherwise end
in ``TypeError: __init__() got an unexpected keyword argument 'poling'`` from deep inside the
factory; this names what was built, the unknown option, the closest allowed one and them all.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Iterable

from .errors import ConfigError


class UnknownOptionError(ConfigError, TypeError):
    """An option the factory does not take (a TypeError too, as calling it would have raised)."""

    def __init__(self, what: str, unknown: list[str], allowed: list[str]) -> None:
        self.what = what
        self.unknown = unknown
        self.allowed = allowed
        import difflib

        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        plural = "s" if len(unknown) > 1 else ""
        super().__init__(
            f"{what}: unknown option{plural} {', '.join(hints)}; allowed options: {', '.join(allowed) or 'none'}"
        )


def accepted_options(factory: Callable[..., Any], given: Iterable[str] = ()) -> list[str] | None:
    """The keyword options ``factory`` takes, without ``given`` ones; None when it takes ``**kwargs``
    or its signature cannot be read (then nothing can be checked before calling it)."""
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    skip = set(given)
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [p.name for p in params if p.kind in kinds and p.name not in skip]


def check_options(what: str, factory: Callable[..., Any], options: dict[str, Any], given: Iterable[str] = ()) -> None:
    """Raise ``UnknownOptionError`` naming ``what`` when ``options`` holds a name ``factory`` does not take.

    ``given`` are the arguments the caller passes itself (``embed_dim``): not user options.
    """
    allowed = accepted_options(factory, given)
    if allowed is None:
        return
    unknown = [name for name in options if name not in allowed]
    if unknown:
        raise UnknownOptionError(what, unknown, allowed)
