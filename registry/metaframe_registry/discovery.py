"""Entry-point discovery: one try per entry point, one result per plugin.

``PluginManager.load_setuptools_entrypoints`` stops at the first broken plugin and silently
drops a duplicate name, so we loop over ``importlib.metadata`` ourselves and keep a
``PluginRecord`` (manifest or error) for every entry point, as napari's npe2 does.
"""

from __future__ import annotations

import os
import re
import traceback
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Literal

from pydantic import ValidationError

from .manifest import ModalityManifest

MODALITY_GROUP = "metaframe.modalities"
PLUGIN_GROUP = "metaframe.plugins"
LOAD_PLUGINS_ENV = "METAFRAME_LOAD_PLUGINS"
CORE_DISTRIBUTION = "metaframe"

Status = Literal["ok", "error"]


@dataclass(frozen=True)
class PluginRecord:
    """What discovery learned about one entry point."""

    name: str
    group: str
    value: str
    distribution: str | None
    version: str | None
    manifest: ModalityManifest | None = None
    plugin: Any = None
    error: str | None = None
    traceback: str | None = None

    @property
    def status(self) -> Status:
        return "ok" if self.error is None else "error"

    @property
    def entry_point(self) -> str:
        return f"{self.name} = {self.value}"

    def provider(self) -> str:
        """Distribution, version and entry point, as error messages show them."""
        dist = self.distribution or "<no distribution>"
        return f"{dist} {self.version or '?'} (entry point {self.group}: {self.entry_point})"


def normalize_distribution(name: str) -> str:
    """PEP 503 normalisation, so 'metaframe_image' and 'Metaframe-Image' match."""
    return re.sub(r"[-_.]+", "-", name).lower()


def allowed_distributions(env: dict[str, str] | None = None) -> set[str] | None:
    """Distributions allowed by METAFRAME_LOAD_PLUGINS; None means all.

    Unset: everything loads. Empty: no plugin loads. Otherwise a comma-separated list of
    distribution names. The core distribution ("metaframe") is always loaded: it holds the
    built-in heads, which go through the same hook route as third-party ones.
    """
    environ = os.environ if env is None else env
    raw = environ.get(LOAD_PLUGINS_ENV)
    if raw is None:
        return None
    return {normalize_distribution(part.strip()) for part in raw.split(",") if part.strip()}


def _selected(dist_name: str | None, allowed: set[str] | None) -> bool:
    if allowed is None or dist_name is None:
        return allowed is None
    norm = normalize_distribution(dist_name)
    return norm == CORE_DISTRIBUTION or norm in allowed


def _entry_points(group: str) -> list[metadata.EntryPoint]:
    seen: set[tuple[str, str, str | None]] = set()
    result = []
    for ep in metadata.entry_points(group=group):
        dist = ep.dist.metadata["Name"] if ep.dist is not None else None
        key = (ep.name, ep.value, dist)
        if key in seen:  # the same distribution visible twice on sys.path
            continue
        seen.add(key)
        result.append(ep)
    return result


def _one_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return " ".join(text.split())


def _given(err: Any) -> str:
    """`` (got VALUE)`` for a scalar that failed validation, so the message shows what was written."""
    value = err.get("input")
    if err.get("type") == "missing" or isinstance(value, (dict, list, tuple, set)) or value is None:
        return ""
    return f" (got {value!r})"


def _load_manifest(ep: metadata.EntryPoint, dist: str | None, version: str | None) -> ModalityManifest:
    obj = ep.load()
    if callable(obj) and not isinstance(obj, ModalityManifest):
        obj = obj()
    if isinstance(obj, dict):
        obj = ModalityManifest.model_validate(obj)
    if not isinstance(obj, ModalityManifest):
        raise TypeError(f"entry point returned {type(obj).__name__}, expected a ModalityManifest (or a function returning one)")
    if obj.name != ep.name:
        raise ValueError(f"entry point is named {ep.name!r} but its manifest says name={obj.name!r}; they must agree")
    return obj.model_copy(update={"distribution": dist or obj.distribution, "version": version or obj.version})


def discover_modalities(env: dict[str, str] | None = None) -> list[PluginRecord]:
    """Every entry point of the ``metaframe.modalities`` group, loaded or with its error."""
    allowed = allowed_distributions(env)
    records = []
    for ep in _entry_points(MODALITY_GROUP):
        dist = ep.dist.metadata["Name"] if ep.dist is not None else None
        version = ep.dist.version if ep.dist is not None else None
        if not _selected(dist, allowed):
            continue
        base = dict(name=ep.name, group=MODALITY_GROUP, value=ep.value, distribution=dist, version=version)
        try:
            manifest = _load_manifest(ep, dist, version)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '<manifest>'}: {err['msg']}{_given(err)}" for err in exc.errors()
            )
            records.append(PluginRecord(**base, error=f"invalid manifest: {problems}", traceback=traceback.format_exc()))
        except Exception as exc:  # noqa: BLE001 - one broken plugin never hides the others
            records.append(PluginRecord(**base, error=_one_line(exc), traceback=traceback.format_exc()))
        else:
            records.append(PluginRecord(**base, manifest=manifest))
    return sorted(records, key=lambda r: (r.name, r.distribution or ""))


def discover_plugins(env: dict[str, str] | None = None) -> list[PluginRecord]:
    """Every entry point of the ``metaframe.plugins`` group (hook implementations)."""
    allowed = allowed_distributions(env)
    records = []
    for ep in _entry_points(PLUGIN_GROUP):
        dist = ep.dist.metadata["Name"] if ep.dist is not None else None
        version = ep.dist.version if ep.dist is not None else None
        if not _selected(dist, allowed):
            continue
        base = dict(name=ep.name, group=PLUGIN_GROUP, value=ep.value, distribution=dist, version=version)
        try:
            plugin = ep.load()
        except Exception as exc:  # noqa: BLE001
            records.append(PluginRecord(**base, error=_one_line(exc), traceback=traceback.format_exc()))
        else:
            records.append(PluginRecord(**base, plugin=plugin))
    return sorted(records, key=lambda r: (r.distribution or "", r.name))
