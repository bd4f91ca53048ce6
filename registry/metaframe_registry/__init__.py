"""metaframe-registry: the torch-free plugin layer of metaframe.

Light on import: the pydantic models (``ModalityManifest``, ``Recipe``) and the pluggy-based
``Registry`` load on first access, so listing plugins from a warm cache imports neither.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .discovery import (
    LOAD_PLUGINS_ENV,
    MODALITY_GROUP,
    PLUGIN_GROUP,
    PluginRecord,
    discover_modalities,
    discover_plugins,
)
from .errors import (
    ConfigError,
    DuplicateModalityError,
    DuplicateRegistrationError,
    ManifestError,
    MetaframeError,
    PluginLoadError,
    ReadError,
    RegistryError,
    ResolveError,
    UnknownEncoderError,
    UnknownHeadError,
    UnknownModalityError,
)
from .lazy import lazy_module
from .names import NAME_PATTERN, is_modality_name
from .resolve import resolve

_LAZY: dict[str, str] = {
    "HOOK_NAMES": "metaframe_registry.hookspecs",
    "hookimpl": "metaframe_registry.hookspecs",
    "hookspec": "metaframe_registry.hookspecs",
    "SCHEMA_VERSION": "metaframe_registry.manifest",
    "SUPPORTED_SCHEMA_VERSIONS": "metaframe_registry.manifest",
    "ModalityManifest": "metaframe_registry.manifest",
    "POOLINGS": "metaframe_registry.recipe",
    "Recipe": "metaframe_registry.recipe",
    "Registration": "metaframe_registry.registry",
    "Registry": "metaframe_registry.registry",
    "default_registry": "metaframe_registry.registry",
    "reset_default_registry": "metaframe_registry.registry",
    "use_registry": "metaframe_registry.registry",
}

__getattr__, __dir__ = lazy_module(__name__, _LAZY)

__all__ = sorted(
    [
        "ConfigError",
        "DuplicateModalityError",
        "DuplicateRegistrationError",
        "LOAD_PLUGINS_ENV",
        "MODALITY_GROUP",
        "ManifestError",
        "MetaframeError",
        "NAME_PATTERN",
        "PLUGIN_GROUP",
        "PluginLoadError",
        "PluginRecord",
        "ReadError",
        "RegistryError",
        "ResolveError",
        "UnknownEncoderError",
        "UnknownHeadError",
        "UnknownModalityError",
        "discover_modalities",
        "discover_plugins",
        "is_modality_name",
        "lazy_module",
        "resolve",
        *_LAZY,
    ]
)

if TYPE_CHECKING:  # pragma: no cover
    from .hookspecs import HOOK_NAMES, hookimpl, hookspec
    from .manifest import SCHEMA_VERSION, SUPPORTED_SCHEMA_VERSIONS, ModalityManifest
    from .recipe import POOLINGS, Recipe
    from .registry import Registration, Registry, default_registry, reset_default_registry, use_registry
