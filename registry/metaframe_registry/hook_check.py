"""``metaframe validate`` for ``metaframe.plugins`` entry points: each one probed in a fresh interpreter.

A probe imports the entry module (so "imports no torch" is measured honestly), lists the known
hooks it implements and any misspelt ``metaframe_*`` name, calls each hook with a recording
``register`` and checks every registration (a name string; a ``"module:attr"`` factory or a
callable; with ``imports`` the reference imports and is callable). ``check_hook_entries`` turns
the probes into findings: ``FAIL`` for what breaks the plugin, ``warn`` for what it survives.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Protocol

from .discovery import normalize_distribution, one_line

PROBE_PREFIX = "METAFRAME-HOOK-PROBE "


class Findings(Protocol):
    def add(self, level: Any, message: str) -> None: ...


def probe(value: str, imports: bool) -> dict[str, Any]:
    """Load ``value`` ("module" or "module:attr") and report its hooks and registrations (in this process)."""
    import importlib

    from .registry import hook_warning, implemented_hooks, registration_problem
    from .resolve import resolve

    out: dict[str, Any] = {"error": None, "torch": False, "hooks": [], "warning": None, "registrations": []}
    try:
        module, _, attr = value.partition(":")
        plugin: Any = importlib.import_module(module)
        for part in filter(None, attr.split(".")):
            plugin = getattr(plugin, part)
    except Exception as exc:  # noqa: BLE001 - any import failure is a finding
        out["error"] = f"cannot import: {one_line(exc)}"
        return out
    out["torch"] = "torch" in sys.modules
    out["hooks"] = implemented_hooks(plugin)
    out["warning"] = hook_warning(plugin)
    kinds = {"metaframe_register_heads": "head", "metaframe_register_encoders": "encoder"}
    for hook in out["hooks"]:
        kind = kinds.get(hook, hook)

        def register(name: Any, factory: Any, description: str = "", *, _kind: str = kind) -> None:
            problem = registration_problem(_kind, name, factory)
            if problem is None and imports and isinstance(factory, str):
                try:
                    if not callable(resolve(factory)):
                        problem = f"{_kind} {name!r}: factory {factory} is not callable"
                except Exception as exc:  # noqa: BLE001
                    problem = f"{_kind} {name!r}: {one_line(exc)}"
            shown = factory if isinstance(factory, str) else f"<{type(factory).__name__}>"
            out["registrations"].append({"kind": _kind, "name": str(name), "factory": shown, "problem": problem})

        try:
            getattr(plugin, hook)(register)
        except Exception as exc:  # noqa: BLE001
            out["error"] = f"{hook} raised {one_line(exc)}"
    return out


def run_probe(value: str, extra_path: Path | None, imports: bool) -> dict[str, Any]:
    """``probe`` in a fresh interpreter, with ``extra_path`` (a source folder) first on its path."""
    paths = ([str(extra_path)] if extra_path is not None else []) + [p for p in sys.path if p]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    proc = subprocess.run(
        [sys.executable, "-m", "metaframe_registry.hook_check", value, "1" if imports else "0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    for line in proc.stdout.splitlines():
        if line.startswith(PROBE_PREFIX):
            return json.loads(line.removeprefix(PROBE_PREFIX))
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return {"error": f"the probe interpreter failed: {tail}", "torch": False, "hooks": [], "warning": None, "registrations": []}


def installed_registrations(distribution: str | None) -> dict[tuple[str, str], str]:
    """(kind, name) -> provider of every head and encoder registered by *other* installed distributions."""
    from .registry import default_registry

    own = normalize_distribution(distribution) if distribution else None
    taken: dict[tuple[str, str], str] = {}
    for kind in ("head", "encoder"):
        for reg in default_registry().registrations(kind):
            dist = reg.provider.partition(":")[0]
            if own is None or normalize_distribution(dist) != own:
                taken[(kind, reg.name)] = reg.provider
    return taken


def check_hook_entries(
    report: Findings, entries: dict[str, str], distribution: str | None, extra_path: Path | None, imports: bool
) -> None:
    """Add a finding per check of each ``metaframe.plugins`` entry point (``{name: value}``)."""
    taken = installed_registrations(distribution)
    for name, value in sorted(entries.items()):
        label = f"metaframe.plugins entry point {name} = {value}"
        result = run_probe(value, extra_path, imports)
        if result["error"] and not result["hooks"]:
            report.add("FAIL", f"{label}: {result['error']}")
            continue
        report.add("ok", f"{label} loads; hooks: {', '.join(result['hooks']) or 'none'}")
        if result["error"]:
            report.add("FAIL", f"{label}: {result['error']}")
        if result["warning"]:
            report.add("warn", f"{label}: {result['warning']}")
        if result["torch"]:
            report.add("FAIL", f"{label}: the hook module imports torch; name factories by 'module:attr' strings")
        for reg in result["registrations"]:
            what = f"{label}: {reg['kind']} {reg['name']!r} ({reg['factory']})"
            if reg["problem"]:
                report.add("FAIL", f"{label}: {reg['problem']}")
            elif (reg["kind"], reg["name"]) in taken:
                report.add("FAIL", f"{what} is already registered by {taken[(reg['kind'], reg['name'])]}")
            else:
                report.add("ok", f"{what} registers" + (" and imports" if imports and reg["factory"][:1] != "<" else ""))


if __name__ == "__main__":  # the fresh interpreter of run_probe
    print(PROBE_PREFIX + json.dumps(probe(sys.argv[1], sys.argv[2] == "1")))
