"""The registry: modalities from entry points, heads and encoders through pluggy hooks.

One route per concept, for everyone: a modality is a ``metaframe.modalities`` entry point (or
``Registry.register_modality`` in tests and notebooks), its dataset reader is its manifest's
``dataset`` field, and heads and encoders come from ``metaframe.plugins`` hook modules. The
core's built-in heads are the ``metaframe.plugins`` entry point of the ``metaframe``
distribution, exactly like a third party's.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator

import pluggy

from . import hookspecs
from .discovery import MODALITY_GROUP, PluginRecord, discover_modalities, discover_plugins, fatal, one_line
from .errors import (
    DuplicateModalityError,
    DuplicateRegistrationError,
    PluginLoadError,
    UnknownEncoderError,
    UnknownHeadError,
    UnknownModalityError,
)
from .names import matching
from .resolve import resolve

if TYPE_CHECKING:
    from .manifest import ModalityManifest

# What each hook registers, by registration kind.
HOOKS: dict[str, str] = {"head": "metaframe_register_heads", "encoder": "metaframe_register_encoders"}


@dataclass(frozen=True)
class Registration:
    """A head or encoder registered through a hook."""

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

    def get(self, name: str, failed: list[str]) -> Registration:
        """The one registration of ``name``; ``failed`` names plugins that did not load."""
        regs = self.entries.get(name)
        if not regs:
            error = UnknownHeadError if self.kind == "head" else UnknownEncoderError
            raise error(name, sorted(self.entries), failed)
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
        self._runtime_failures: list[str] = []

    # -- plugins (hook implementations) ---------------------------------------------------
    def plugin_records(self) -> list[PluginRecord]:
        """Every ``metaframe.plugins`` entry point, with its load error if any."""
        with self._lock:
            if self._plugins is None:
                found = discover_plugins(self._env) if self._use_entry_points else []
                self._plugins = []
                for rec in found:
                    if rec.loaded:
                        warning = hook_warning(rec.plugin)
                        error = self._add_plugin(rec.plugin, plugin_id(rec))
                        if error:
                            rec = dataclasses.replace(rec, plugin=None, error=error)
                        elif warning:
                            rec = dataclasses.replace(rec, warning=warning)
                    self._plugins.append(rec)
            return list(self._plugins)

    def register_plugin(self, plugin: Any, name: str | None = None) -> None:
        """Register an object or module holding ``@hookimpl`` functions (used by tests and apps)."""
        self.plugin_records()
        label = name or getattr(plugin, "__name__", repr(plugin))
        unknown = unknown_hooks(plugin)
        if unknown:  # asked for explicitly: refuse at once rather than warn
            raise PluginLoadError(f"plugin {label!r}: {hook_warning(plugin)}")
        error = self._add_plugin(plugin, label)
        if error:
            raise PluginLoadError(error)
        with self._lock:
            self._tables.clear()
            self._runtime_failures.clear()
            self._modalities = None

    def failed_plugins(self) -> list[str]:
        """``provider: problem`` of each ``metaframe.plugins`` entry point that failed or warned.

        Unknown-head and unknown-encoder errors show these: a plugin that did not load, whose
        hook raised, or whose hook name is misspelt may be where the missing name comes from.
        """
        self._collect("head"), self._collect("encoder")  # a hook that raises is a failure too
        problems = [f"{r.provider()}: {r.error or r.warning}" for r in self.plugin_records() if r.status != "ok"]
        return problems + list(self._runtime_failures)

    def _add_plugin(self, plugin: Any, name: str) -> str | None:
        try:
            self._pm.register(plugin, name=name)
        except BaseException as exc:  # noqa: BLE001 - a bad hook signature, a duplicate plugin name, sys.exit
            if fatal(exc):
                raise
            return one_line(exc)
        return None

    def _hook_failed(self, plugin_name: str, hook: str, exc: BaseException) -> None:
        """Mark the entry point whose ``hook`` raised as failed (its other registrations stay)."""
        error = f"{hook} raised {one_line(exc)}"
        with self._lock:
            for i, rec in enumerate(self._plugins or []):
                if plugin_id(rec) == plugin_name:
                    if rec.error is None:
                        self._plugins[i] = dataclasses.replace(rec, error=error, traceback=traceback.format_exc())
                    return
            self._runtime_failures.append(f"{plugin_name}: {error}")

    def _collect(self, kind: str) -> _Table:
        with self._lock:
            if kind not in self._tables:
                self.plugin_records()
                table = _Table(kind)
                hook = getattr(self._pm.hook, HOOKS[kind])
                for impl in hook.get_hookimpls():

                    def register(
                        name: str, factory: str | Callable[..., Any], description: str = "", *, _p: str = impl.plugin_name
                    ) -> None:
                        problem = registration_problem(kind, name, factory)
                        if problem:
                            raise ValueError(problem)
                        table.add(Registration(kind, name, factory, description, _p))

                    try:
                        impl.function(register)
                    except BaseException as exc:  # noqa: BLE001 - one broken hook never hides (nor exits) the others
                        if fatal(exc):
                            raise
                        self._hook_failed(impl.plugin_name, HOOKS[kind], exc)
                self._tables[kind] = table
            return self._tables[kind]

    # -- heads and encoders ---------------------------------------------------------------
    def registrations(self, kind: str) -> list[Registration]:
        """Every registration of ``kind`` ("head" or "encoder"), duplicates included."""
        return [reg for regs in self._collect(kind).entries.values() for reg in regs]

    def heads(self, pattern: str | None = None) -> dict[str, Registration]:
        entries = self._collect("head").entries
        return {name: entries[name][0] for name in matching(sorted(entries), pattern)}

    def head(self, kind: str) -> Registration:
        return self._collect("head").get(kind, self.failed_plugins())

    def encoders(self, pattern: str | None = None) -> dict[str, Registration]:
        entries = self._collect("encoder").entries
        return {name: entries[name][0] for name in matching(sorted(entries), pattern)}

    def encoder(self, name: str) -> Registration:
        return self._collect("encoder").get(name, self.failed_plugins())

    # -- modalities ----------------------------------------------------------------------
    def modality_records(self) -> list[PluginRecord]:
        """One record per modality entry point (or ``register_modality`` call), errors included."""
        with self._lock:
            if self._modalities is None:
                self._modalities = discover_modalities(self._env) if self._use_entry_points else []
            return sorted(self._modalities + self._extra_modalities, key=lambda r: (r.name, r.distribution or ""))

    def register_modality(self, manifest: ModalityManifest | dict[str, Any], *, source: str = "<runtime>") -> None:
        """Add a modality programmatically (temporary modalities in tests, notebooks)."""
        with self._lock:
            self._extra_modalities.append(_record_from_manifest(manifest, source))

    def unregister_modality(self, name: str) -> None:
        with self._lock:
            self._extra_modalities = [r for r in self._extra_modalities if r.name != name]

    def modality_names(self, pattern: str | None = None) -> list[str]:
        """Names ``manifest`` answers for, optionally fnmatch-filtered: the listing and the lookup agree.

        A name provided by two entry points (a fork installed beside the original) or whose one
        entry point failed is not listed, because looking it up raises; ``modality_records``
        (``list_modalities(include_errors=True)``, ``metaframe list-modalities``) shows those.
        """
        records = self.modality_records()
        counts: dict[str, int] = {}
        for r in records:
            counts[r.name] = counts.get(r.name, 0) + 1
        usable = {r.name for r in records if r.loaded and counts[r.name] == 1}
        return matching(sorted(usable), pattern)

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


def registration_problem(kind: str, name: Any, factory: Any) -> str | None:
    """Why ``register(name, factory)`` is refused, or None: a name string, a reference or callable."""
    from .resolve import is_reference

    if not isinstance(name, str) or not name.strip():
        return f"register({name!r}, ...): a {kind} name must be a non-empty string"
    if isinstance(factory, str):
        if not is_reference(factory):
            return f"{kind} {name!r}: factory {factory!r} is not a 'module:attr' reference"
    elif not callable(factory):
        return f"{kind} {name!r}: factory is a {type(factory).__name__}, expected a 'module:attr' string or a callable"
    return None


def plugin_id(record: PluginRecord) -> str:
    """The name a ``metaframe.plugins`` entry point is registered under (and Registration.provider)."""
    return f"{record.distribution}:{record.name}"


def unknown_hooks(plugin: Any) -> list[str]:
    """``metaframe_*`` callables of ``plugin`` that are not hooks (a typo, or a removed hook)."""
    return [
        attr
        for attr in dir(plugin)
        if attr.startswith("metaframe_") and attr not in hookspecs.HOOK_NAMES and callable(getattr(plugin, attr))
    ]


def implemented_hooks(plugin: Any) -> list[str]:
    """The known hooks ``plugin`` implements."""
    return [name for name in hookspecs.HOOK_NAMES if callable(getattr(plugin, name, None))]


def hook_warning(plugin: Any) -> str | None:
    """One line when ``plugin`` has ``metaframe_*`` functions that are no hook, or no hook at all.

    Such a plugin still loads (its known hooks are called) but registers less than its author
    meant, so it is a warning with the closest known hook name, not a silent no-op.
    """
    import difflib

    unknown = unknown_hooks(plugin)
    hints = []
    for attr in unknown:
        close = difflib.get_close_matches(attr, hookspecs.HOOK_NAMES, n=1, cutoff=0.6)
        hints.append(f"{attr}: did you mean {close[0]}?" if close else f"{attr} is not a hook")
    known = ", ".join(hookspecs.HOOK_NAMES)
    if not implemented_hooks(plugin):
        if len(unknown) == 1 and hints[0].startswith(f"{unknown[0]}: did you mean"):
            return f"implements no known hook; did you mean {hints[0].rpartition(' ')[2]} ({unknown[0]} is not a hook)"
        return "implements no known hook" + (f" ({'; '.join(hints)})" if hints else "") + f"; known hooks: {known}"
    if unknown:
        return f"unknown hook(s) {'; '.join(hints)}; known hooks: {known}"
    return None


def _record_from_manifest(manifest: ModalityManifest | dict[str, Any], provider: str) -> PluginRecord:
    from .manifest import ModalityManifest

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
