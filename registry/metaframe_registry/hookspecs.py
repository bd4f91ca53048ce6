"""Every hook a metaframe plugin may implement (project name "metaframe").

Hooks receive a ``register`` callback, so the host sees every registration, records which
plugin made it and refuses clashes with an error that names both sides. Modalities are
declared through the ``metaframe.modalities`` entry points (a manifest); the hooks here are
for everything else a plugin contributes. The core's built-in heads use this same route.
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


@hookspec
def metaframe_register_modalities(register: Register) -> None:
    """Called once at discovery, for plugins that declare modalities in code.

    Call ``register(manifest)`` with a ``ModalityManifest``. Entry points in the
    ``metaframe.modalities`` group are the usual route; this hook serves generated or
    temporary modalities (the test kit's ``metaframe_registry`` fixture uses it).
    """


@hookspec
def metaframe_register_datasets(register: Register) -> None:
    """Called once when the registry is first asked for datasets.

    Call ``register(name, factory, description="")``: ``factory`` (``"module:attr"`` or
    callable) takes ``(root: str | None = None, **options)`` and returns a sequence of
    ``(sample, target)`` pairs with an optional ``label_names`` attribute.
    """


HOOK_NAMES: tuple[str, ...] = tuple(
    name for name, value in dict(globals()).items() if name.startswith("metaframe_") and callable(value)
)


