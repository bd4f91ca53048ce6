"""metaframe-registry: the torch-free plugin layer of metaframe."""

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
    UnknownHeadError,
    UnknownModalityError,
)
from .hookspecs import HOOK_NAMES, hookimpl, hookspec
from .manifest import SCHEMA_VERSION, SUPPORTED_SCHEMA_VERSIONS, ModalityManifest
from .recipe import POOLINGS, Recipe
from .registry import Registration, Registry, default_registry, reset_default_registry, use_registry
from .resolve import resolve

__all__ = [
    "ConfigError",
    "DuplicateModalityError",
    "DuplicateRegistrationError",
    "HOOK_NAMES",
    "LOAD_PLUGINS_ENV",
    "MODALITY_GROUP",
    "ManifestError",
    "MetaframeError",
    "ModalityManifest",
    "PLUGIN_GROUP",
    "POOLINGS",
    "PluginLoadError",
    "PluginRecord",
    "ReadError",
    "Recipe",
    "Registration",
    "Registry",
    "RegistryError",
    "ResolveError",
    "SCHEMA_VERSION",
    "SUPPORTED_SCHEMA_VERSIONS",
    "UnknownHeadError",
    "UnknownModalityError",
    "default_registry",
    "discover_modalities",
    "discover_plugins",
    "hookimpl",
    "hookspec",
    "reset_default_registry",
    "resolve",
    "use_registry",
]
