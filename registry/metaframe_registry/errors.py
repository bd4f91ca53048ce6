"""Error types shared by the registry, the core and plugins.

They live here (torch-free) so a plugin's reader can raise them without importing the core.
Every message says what was asked for, what was found and what to do.
"""

from __future__ import annotations

import os
from typing import Any


class MetaframeError(Exception):
    """Base of every error metaframe raises on purpose."""


class RegistryError(MetaframeError):
    """A problem with installed plugins or registrations."""


class UnknownModalityError(RegistryError, KeyError):
    def __init__(self, name: str, installed: list[str]) -> None:
        self.name = name
        self.installed = installed
        listed = ", ".join(installed) if installed else "none"
        super().__init__(
            f"modality {name!r} is not installed. Installed modalities: {listed}. "
            "Check the spelling, `metaframe list-modalities`, or install the plugin "
            f"(for example `pip install metaframe-{name.replace('_', '-')}`)."
        )

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class DuplicateModalityError(RegistryError):
    def __init__(self, name: str, providers: list[str]) -> None:
        self.name = name
        self.providers = providers
        super().__init__(
            f"modality {name!r} is provided by more than one installed distribution: "
            + "; ".join(providers)
            + ". Uninstall one of them, or choose with METAFRAME_LOAD_PLUGINS."
        )


class PluginLoadError(RegistryError):
    """A plugin whose entry point failed to import or returned an invalid manifest."""


class ManifestError(RegistryError, ValueError):
    """A manifest that does not validate."""


class ResolveError(RegistryError, ImportError):
    """A "module:attr" reference that cannot be imported."""


def failed_plugins_note(failed: list[str]) -> str:
    """`` These metaframe.plugins entry points failed or warned: ...`` for an unknown-name error, or ``""``."""
    if not failed:
        return ""
    return (
        " These metaframe.plugins entry points failed or warned and may be where it would have come from: "
        + "; ".join(failed)
        + " (see `metaframe plugins`)."
    )


class _UnknownRegisteredName(RegistryError, KeyError):
    """A head or encoder name nothing registered: lists what is, and the plugins that failed."""

    noun = "name"

    def __init__(self, name: str, installed: list[str], failed: list[str] | None = None) -> None:
        self.installed = installed
        self.failed = list(failed or [])
        listed = ", ".join(installed) if installed else "none"
        super().__init__(
            f"{self.noun} {name!r} is not registered. Registered {self.noun}s: {listed}. "
            "Check the spelling or install the plugin that provides it." + failed_plugins_note(self.failed)
        )

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownHeadError(_UnknownRegisteredName):
    noun = "head"

    def __init__(self, kind: str, installed: list[str], failed: list[str] | None = None) -> None:
        self.kind = kind
        super().__init__(kind, installed, failed)


class UnknownEncoderError(_UnknownRegisteredName):
    noun = "encoder"

    def __init__(self, name: str, installed: list[str], failed: list[str] | None = None) -> None:
        self.name = name
        super().__init__(name, installed, failed)


class DuplicateRegistrationError(RegistryError):
    """Two plugins registered the same head / encoder name."""


class ReadError(MetaframeError, ValueError):
    """Input data that cannot be read: names the source and the problem.

    Readers raise this for a corrupt, truncated, empty or malformed input, so the user sees
    ``path/to/file.png: <problem>`` instead of a stack trace from deep inside a decoder.
    """

    def __init__(self, source: Any, problem: str) -> None:
        self.source = source
        self.problem = problem
        super().__init__(f"{describe_source(source)}: {problem}")


class ConfigError(MetaframeError, ValueError):
    """A configuration field with a bad value: names the field, the value and what is allowed."""


def describe_source(source: Any) -> str:
    """A short human name for a reader input: the path for files, the type for objects."""
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    shape = getattr(source, "shape", None)
    if shape is not None:
        return f"<{type(source).__name__} of shape {tuple(shape)}>"
    return f"<{type(source).__name__}>"
