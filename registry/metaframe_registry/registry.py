"""The registry: modalities from entry points, everything else through pluggy hooks.

One route for everyone: the core's built-in heads are a ``metaframe.plugins`` entry point
of the ``metaframe`` distribution, exactly like a third party's.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import pluggy

from . import hookspecs
from .discovery import MODALITY_GROUP, PluginRecord, discover_modalities, discover_plugins
from .errors import (
    DuplicateModalityError,
    DuplicateRegistrationError,
    PluginLoadError,
    RegistryError,
    UnknownHeadError,
    UnknownModalityError,
)
from .manifest import ModalityManifest
from .resolve import resolve


@dataclass(frozen=True)
class Registration:
    """A head, encoder or dataset registered through a hook."""

    kind: str
    name: str
    factory: str | Callable[..., Any]
    description: str
    provider: str

    def load(self) -> Callable[..., Any]:
        return resolve(self.factory) if isinstance(self.factory, str) else self.factory


@dataclass
class _Table:
    kind: str
    entries: dict[str, list[Registration]] = field(default_factory=dict)

    def add(self, reg: Registration) -> None:
        self.entries.setdefault(reg.name, []).append(reg)

    def get(self, name: str) -> Registration:
        regs = self.entries.get(name)
        if not regs:
            if self.kind == "head":
                raise UnknownHeadError(name, sorted(self.entries))
            raise RegistryError(
                f"{self.kind} {name!r} is not registered. Registered: {', '.join(sorted(self.entries)) or 'none'}."
            )
        if len(regs) > 1:
            raise DuplicateRegistrationError(
                f"{self.kind} {name!r} is registered by more than one plugin: "
                + "; ".join(r.provider for r in regs)
                + ". Uninstall one of them, or choose with METAFRAME_LOAD_PLUGINS."
            )
        return regs[0]


class Registry:
    """Discovered modalities and hook registrations, loaded lazily and once.

    ``entry_points=False`` gives an empty registry (for tests); ``env`` overrides
    ``os.environ`` when reading METAFRAME_LOAD_PLUGINS.
    """

    def __init__(self, *, entry_points: bool = True, env: dict[str, str] | None = None) -> None:
        self._use_entry_points = entry_points
        self._env = env
        self._lock = threading.RLock()
        self._pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self._pm.add_hookspecs(hookspecs)
        self._modalities: list[PluginRecord] | None = None
        self._plugins: list[PluginRecord] | None = None
        self._extra_modalities: list[PluginRecord] = []
        self._tables: dict[str, _Table] = {}

    # -- plugins (hook implementations) ---------------------------------------------------
    def plugin_records(self) -> list[PluginRecord]:
        """Every ``metaframe.plugins`` entry point, with its load error if any."""
        with self._lock:
            if self._plugins is None:
                found = discover_plugins(self._env) if self._use_entry_points else []
                self._plugins = []
                for rec in found:
                    if rec.status == "ok":
                        error = self._add_plugin(rec.plugin, f"{rec.distribution}:{rec.name}")
                        if error:
                            rec = PluginRecord(**{**rec.__dict__, "plugin": None, "error": error})
                    self._plugins.append(rec)
            return list(self._plugins)

    def register_plugin(self, plugin: Any, name: str | None = None) -> None:
        """Register an object or module holding ``@hookimpl`` functions (used by tests and apps)."""
        self.plugin_records()
        error = self._add_plugin(plugin, name or getattr(plugin, "__name__", repr(plugin)))
        if error:
            raise PluginLoadError(error)
        with self._lock:
            self._tables.clear()
            self._modalities = None

    def _add_plugin(self, plugin: Any, name: str) -> str | None:
        unknown = [
            attr
            for attr in dir(plugin)
            if attr.startswith("metaframe_") and attr not in hookspecs.HOOK_NAMES and callable(getattr(plugin, attr))
        ]
        if unknown:
            return f"unknown hook(s) {', '.join(unknown)}; known hooks: {', '.join(hookspecs.HOOK_NAMES)}"
        try:
            self._pm.register(plugin, name=name)
        except Exception as exc:  # noqa: BLE001
            return f"{type(exc).__name__}: {exc}"
        return None

    def _collect(self, hook_name: str, kind: str) -> _Table:
        with self._lock:
            if kind not in self._tables:
                self.plugin_records()
                table = _Table(kind)
                hook = getattr(self._pm.hook, hook_name)
                for impl in hook.get_hookimpls():

                    def register(
                        name: str, factory: str | Callable[..., Any], description: str = "", *, _p: str = impl.plugin_name
                    ) -> None:
                        table.add(Registration(kind, name, factory, description, _p))

                    impl.function(register)
                self._tables[kind] = table
            return self._tables[kind]

    # -- heads, encoders, datasets -------------------------------------------------------
    def heads(self) -> dict[str, Registration]:
        return {name: regs[0] for name, regs in sorted(self._collect("metaframe_register_heads", "head").entries.items())}

    def head(self, kind: str) -> Registration:
        return self._collect("metaframe_register_heads", "head").get(kind)

    def encoders(self) -> dict[str, Registration]:
        table = self._collect("metaframe_register_encoders", "encoder")
        return {name: regs[0] for name, regs in sorted(table.entries.items())}

    def encoder(self, name: str) -> Registration:
        return self._collect("metaframe_register_encoders", "encoder").get(name)

    def datasets(self) -> dict[str, Registration]:
        table = self._collect("metaframe_register_datasets", "dataset")
        return {name: regs[0] for name, regs in sorted(table.entries.items())}

    def dataset(self, name: str) -> Registration:
        return self._collect("metaframe_register_datasets", "dataset").get(name)

    # -- modalities ----------------------------------------------------------------------
    def modality_records(self) -> list[PluginRecord]:
        """One record per modality entry point (or hook registration), errors included."""
        with self._lock:
            if self._modalities is None:
                found = discover_modalities(self._env) if self._use_entry_points else []
                found += self._hook_modalities()
                self._modalities = found
            return sorted(self._modalities + self._extra_modalities, key=lambda r: (r.name, r.distribution or ""))

    def _hook_modalities(self) -> list[PluginRecord]:
        self.plugin_records()
        records: list[PluginRecord] = []
        for impl in self._pm.hook.metaframe_register_modalities.get_hookimpls():

            def register(manifest: ModalityManifest | dict[str, Any], *, _p: str = impl.plugin_name) -> None:
                records.append(_record_from_manifest(manifest, _p))

            impl.function(register)
        return records

    def register_modality(self, manifest: ModalityManifest | dict[str, Any], *, source: str = "<runtime>") -> None:
        """Add a modality programmatically (temporary modalities in tests, notebooks)."""
        with self._lock:
            self._extra_modalities.append(_record_from_manifest(manifest, source))

    def unregister_modality(self, name: str) -> None:
        with self._lock:
            self._extra_modalities = [r for r in self._extra_modalities if r.name != name]

    def modality_names(self) -> list[str]:
        """Names of modalities that loaded (a duplicated name is listed once)."""
        return sorted({r.name for r in self.modality_records() if r.status == "ok"})

    def manifest(self, name: str) -> ModalityManifest:
        records = [r for r in self.modality_records() if r.name == name]
        if not records:
            raise UnknownModalityError(name, self.modality_names())
        if len(records) > 1:
            raise DuplicateModalityError(name, [r.provider() for r in records])
        record = records[0]
        if record.manifest is None:
            raise PluginLoadError(
                f"modality {name!r} from {record.provider()} failed to load: {record.error}. "
                "Run `metaframe list-modalities --debug` for the traceback."
            )
        return record.manifest


def _record_from_manifest(manifest: ModalityManifest | dict[str, Any], provider: str) -> PluginRecord:
    if isinstance(manifest, dict):
        manifest = ModalityManifest.model_validate(manifest)
    return PluginRecord(
        name=manifest.name,
        group=MODALITY_GROUP,
        value=provider,
        distribution=manifest.distribution or provider,
        version=manifest.version,
        manifest=manifest,
    )


_default: Registry | None = None
_default_lock = threading.Lock()


def default_registry() -> Registry:
    """The process-wide registry, built on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Registry()
        return _default


def reset_default_registry() -> None:
    """Forget discovered plugins (after installing one at run time)."""
    global _default
    with _default_lock:
        _default = None


@contextlib.contextmanager
def use_registry(registry: Registry) -> Iterator[Registry]:
    """Make ``registry`` the default inside a ``with`` block (isolated tests)."""
    global _default
    with _default_lock:
        previous, _default = _default, registry
    try:
        yield registry
    finally:
        with _default_lock:
            _default = previous
