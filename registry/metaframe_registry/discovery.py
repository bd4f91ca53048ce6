"""Entry-point discovery: one loop, one try per entry point, one result per plugin.

``PluginManager.load_setuptools_entrypoints`` stops at the first broken plugin and silently
drops a duplicate name, so we loop over ``importlib.metadata`` ourselves and keep a
``PluginRecord`` (manifest or error) for every entry point, as napari's npe2 does. Both groups
(``metaframe.modalities`` manifests, ``metaframe.plugins`` hook modules) go through the same
``discover`` loop. Nothing here imports pydantic until a manifest is validated.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING, Any, Callable, Literal

if TYPE_CHECKING:
    from .manifest import ModalityManifest
    from .manifest_cache import ManifestCache

MODALITY_GROUP = "metaframe.modalities"
PLUGIN_GROUP = "metaframe.plugins"
GROUPS = (MODALITY_GROUP, PLUGIN_GROUP)
LOAD_PLUGINS_ENV = "METAFRAME_LOAD_PLUGINS"
CORE_DISTRIBUTION = "metaframe"

Status = Literal["ok", "warn", "error"]


@dataclass(frozen=True)
class PluginRecord:
    """What discovery learned about one entry point.

    ``manifest`` is the validated manifest; a record read from the listing cache has
    ``manifest=None`` and its validated fields in ``cached`` instead. ``warning`` is a
    problem that does not stop the plugin from working (an entry module importing torch).
    """

    name: str
    group: str
    value: str
    distribution: str | None
    version: str | None
    manifest: ModalityManifest | None = None
    plugin: Any = None
    error: str | None = None
    traceback: str | None = None
    warning: str | None = None
    cached: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def status(self) -> Status:
        if self.error is not None:
            return "error"
        return "warn" if self.warning is not None else "ok"

    @property
    def loaded(self) -> bool:
        """True when the entry point loaded (status ok or warn)."""
        return self.error is None

    @property
    def entry_point(self) -> str:
        return f"{self.name} = {self.value}"

    def provider(self) -> str:
        """Distribution, version and entry point, as error messages show them."""
        dist = self.distribution or "<no distribution>"
        return f"{dist} {self.version or '?'} (entry point {self.group}: {self.entry_point})"

    def fields(self) -> dict[str, Any]:
        """The manifest's fields as JSON values (from the manifest or from the cache)."""
        if self.manifest is not None:
            return self.manifest.model_dump(mode="json")
        return dict(self.cached or {})


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


_NAME_VERSION: dict[Any, tuple[str | None, str | None]] = {}


def name_version(dist: metadata.Distribution | None) -> tuple[str | None, str | None]:
    """A distribution's Name and Version, read once per process from its METADATA header.

    ``dist.metadata`` runs the email parser over the whole file on every access (three times
    per entry point before), the largest cost of a listing after the interpreter itself.
    """
    if dist is None:
        return None, None
    key = getattr(dist, "_path", None)  # a PathDistribution's dist-info folder (it names the version)
    if key is None or key not in _NAME_VERSION:
        name = version = None
        text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
        for line in text.splitlines():
            if not line.strip():
                break  # end of the headers
            field_name, _, value = line.partition(":")
            if field_name == "Name":
                name = value.strip()
            elif field_name == "Version":
                version = value.strip()
        if name is None or version is None:  # unusual layout: let importlib.metadata parse it
            name, version = dist.metadata["Name"], dist.version
        if key is None:
            return name, version
        _NAME_VERSION[key] = (name, version)
    return _NAME_VERSION[key]


def entry_points(group: str, env: dict[str, str] | None = None) -> list[metadata.EntryPoint]:
    """The group's entry points that METAFRAME_LOAD_PLUGINS lets load, each distribution once."""
    allowed = allowed_distributions(env)
    seen: set[tuple[str, str, str | None]] = set()
    result = []
    for ep in metadata.entry_points(group=group):
        dist = name_version(ep.dist)[0]
        key = (ep.name, ep.value, dist)
        if key in seen or not _selected(dist, allowed):  # the same distribution visible twice on sys.path
            continue
        seen.add(key)
        result.append(ep)
    return result


def one_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    if isinstance(exc, SystemExit):
        text += " (the plugin called sys.exit; a plugin must raise an exception instead)"
    return " ".join(text.split())


def fatal(exc: BaseException) -> bool:
    """True for the one exception a plugin's failure must not swallow: the user's Ctrl-C.

    ``SystemExit`` (a plugin calling ``sys.exit`` at import) and other ``BaseException``
    subclasses are the plugin's failure, recorded like any error, never the host's exit.
    """
    return isinstance(exc, KeyboardInterrupt)


TORCH_WARNING = (
    "the entry module imports torch at import time (slow listing); name heavy code by 'module:attr' strings"
)


def _load_manifest(ep: metadata.EntryPoint, dist: str | None, version: str | None) -> tuple[ModalityManifest, str | None]:
    from .manifest import ModalityManifest

    torch_before = "torch" in sys.modules
    obj = ep.load()
    warning = TORCH_WARNING if not torch_before and "torch" in sys.modules else None
    if callable(obj) and not isinstance(obj, ModalityManifest):
        obj = obj()
    if isinstance(obj, dict):
        obj = ModalityManifest.model_validate(obj)
    if not isinstance(obj, ModalityManifest):
        raise TypeError(f"entry point returned {type(obj).__name__}, expected a ModalityManifest (or a function returning one)")
    if obj.name != ep.name:
        raise ValueError(f"entry point is named {ep.name!r} but its manifest says name={obj.name!r}; they must agree")
    manifest = obj.model_copy(update={"distribution": dist or obj.distribution, "version": version or obj.version})
    return manifest, warning


def _manifest_error(exc: BaseException) -> str:
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        from .manifest import ModalityManifest
        from .problems import describe_validation_error

        return "invalid manifest: " + "; ".join(describe_validation_error(exc, ModalityManifest))
    return one_line(exc)


Loader = Callable[[metadata.EntryPoint, dict[str, Any]], dict[str, Any]]


def discover(group: str, load: Loader, env: dict[str, str] | None = None, describe: Callable[[BaseException], str] = one_line) -> list[PluginRecord]:
    """The one discovery loop: every entry point of ``group``, loaded by ``load`` or with its error.

    ``load(ep, base)`` returns the record fields it adds (``manifest``, ``plugin``, ...); an
    exception becomes a record with status ``error``, ``describe(exc)`` and the traceback.
    """
    records = []
    for ep in entry_points(group, env):
        dist, version = name_version(ep.dist)
        base: dict[str, Any] = dict(name=ep.name, group=group, value=ep.value, distribution=dist, version=version)
        try:
            records.append(PluginRecord(**base, **load(ep, base)))
        except BaseException as exc:  # noqa: BLE001 - one broken plugin never hides (nor exits) the others
            if fatal(exc):
                raise
            import traceback

            records.append(PluginRecord(**base, error=describe(exc), traceback=traceback.format_exc()))
    return records


def discover_modalities(env: dict[str, str] | None = None, cache: ManifestCache | None = None) -> list[PluginRecord]:
    """Every entry point of the ``metaframe.modalities`` group, loaded or with its error.

    With a ``cache`` (listing only), an unchanged entry point's validated fields come from it
    and its module is not imported; the records then carry ``cached`` instead of ``manifest``.
    """
    from .manifest_cache import entry_key

    keys: set[str] = set()

    def load(ep: metadata.EntryPoint, base: dict[str, Any]) -> dict[str, Any]:
        key = entry_key(base["distribution"], base["version"], ep.value) if cache is not None else None
        if key is not None:
            keys.add(key)
        hit = cache.get(key) if cache is not None else None
        if hit is not None:
            return {"cached": hit["fields"], "warning": hit.get("warning")}
        torch_known = "torch" not in sys.modules
        manifest, warning = _load_manifest(ep, base["distribution"], base["version"])
        if cache is not None and torch_known:  # after torch came in, the check cannot be trusted
            cache.put(key, {"fields": manifest.model_dump(mode="json"), "warning": warning})
        return {"manifest": manifest, "warning": warning}

    records = discover(MODALITY_GROUP, load, env, _manifest_error)
    if cache is not None:
        cache.save(keys)
    return sorted(records, key=lambda r: (r.name, r.distribution or ""))


def discover_plugins(env: dict[str, str] | None = None) -> list[PluginRecord]:
    """Every entry point of the ``metaframe.plugins`` group (hook implementations)."""
    records = discover(PLUGIN_GROUP, lambda ep, base: {"plugin": ep.load()}, env)
    return sorted(records, key=lambda r: (r.distribution or "", r.name))
