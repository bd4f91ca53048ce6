"""Every hook a metaframe plugin may implement (project name "metaframe").

Hooks receive a ``register`` callback, so the host sees every registration, records which
plugin made it and refuses clashes with an error that names both sides. One route per
concept: modalities come only from ``metaframe.modalities`` entry points (a manifest), and a
modality's dataset reader is its manifest's ``dataset`` field; the hooks here register heads
and encoders. The core's built-in heads use this same route. A ``metaframe.plugins`` module
defining any other ``metaframe_*`` function (a misspelt hook) still loads, with status ``warn``
and the closest hook name (``metaframe plugins`` shows it); ``Registry.register_plugin``
refuses such an object outright.
"""

from __future__ import annotations

from typing import Callable

import pluggy

PROJECT_NAME = "metaframe"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

Register = Callable[..., None]


@hookspec
def metaframe_register_heads(register: Register) -> None:
    """Called once when the registry is first asked for heads.

    Call ``register(kind, factory, description="")`` for each head: ``kind`` is the name
    users pass to ``metaframe.build_head(kind, embed_dim=..., **options)``; ``factory`` is a
    ``"module:attr"`` string (preferred: imported on first use) or a callable
    ``factory(embed_dim: int, **options) -> torch.nn.Module``.
    """


@hookspec
def metaframe_register_encoders(register: Register) -> None:
    """Called once when the registry is first asked for encoders.

    Call ``register(name, factory, description="")`` for each frozen backbone; ``factory``
    is a ``"module:attr"`` string or callable ``factory(**options)`` returning a module that
    satisfies ``metaframe.Encoder``: tokens ``[B, N, D]`` and a boolean mask ``[B, N]`` in,
    tokens ``[B, N, D]`` out, with ``embed_dim`` and an ``identity`` (``to_dict()`` holding
    ``sha256``). Configs select it with ``encoder: {name: ..., options: {...}}``.
    """


HOOK_NAMES: tuple[str, ...] = tuple(
    name for name, value in dict(globals()).items() if name.startswith("metaframe_") and callable(value)
)


