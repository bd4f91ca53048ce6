"""Load one entry point in a fresh interpreter: the honest way to see what importing it costs.

Used by the kit's ``check_entry_module_torch_free`` and by ``metaframe validate``; torch-free
itself (the CLI runs it). The child prints one ``METAFRAME-PROBE {json}`` line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, TypedDict

HEAVY_MODULES: tuple[str, ...] = ("torch", "numpy", "pandas", "scipy", "PIL", "timm")
"""Modules reported when an entry module pulls them in (a manifest function should need none)."""

_MARK = "METAFRAME-PROBE "

_SCRIPT = r"""
import importlib, json, sys
value, resolve_refs, heavy_names = sys.argv[1], sys.argv[2] == "1", sys.argv[3].split(",")
out = {"error": None, "manifest": None, "heavy": [], "references": {}}
try:
    module, _, attr = value.partition(":")
    obj = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    if callable(obj) and not hasattr(obj, "model_dump"):
        obj = obj()
    if isinstance(obj, dict):
        out["manifest"] = obj
    elif hasattr(obj, "model_dump"):
        out["manifest"] = obj.model_dump(mode="json")
    else:
        out["error"] = f"entry point returned {type(obj).__name__}, expected a ModalityManifest"
except Exception as exc:
    if type(exc).__name__ == "ValidationError" and hasattr(exc, "errors"):  # pydantic: one line per field
        from metaframe_registry import ModalityManifest
        from metaframe_registry.problems import describe_validation_error
        out["error"] = "the manifest does not validate: " + "; ".join(describe_validation_error(exc, ModalityManifest))
    else:
        out["error"] = f"{type(exc).__name__}: {exc}"
finally:
    out["heavy"] = sorted(m for m in heavy_names if m in sys.modules)
if resolve_refs and out["manifest"]:
    from metaframe_registry import resolve
    for key in ("tokenizer", "reader", "collate", "dataset", "examples"):
        ref = out["manifest"].get(key)
        if not ref:
            continue
        try:
            target = resolve(ref)
            out["references"][key] = None if callable(target) else f"{ref} is a {type(target).__name__}, not callable"
        except Exception as exc:
            out["references"][key] = " ".join(str(exc).split())
print("METAFRAME-PROBE " + json.dumps(out))
"""


class ProbeResult(TypedDict):
    """``error``: why loading failed (None if it loaded); ``manifest``: its JSON form;
    ``heavy``: the ``HEAVY_MODULES`` imported; ``references``: field -> problem (None: resolves)."""

    error: str | None
    manifest: dict[str, Any] | None
    heavy: list[str]
    references: dict[str, str | None]


def probe_entry_point(
    value: str, *, extra_path: Path | None = None, resolve_references: bool = False, timeout: float = 300
) -> ProbeResult:
    """Load entry point ``value`` ("module:attr"), call it, and report what came in with it."""
    paths = ([str(extra_path)] if extra_path is not None else []) + [p for p in sys.path if p]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    argv = [sys.executable, "-c", _SCRIPT, value, "1" if resolve_references else "0", ",".join(HEAVY_MODULES)]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout)
    for line in proc.stdout.splitlines():
        if line.startswith(_MARK):
            return json.loads(line.removeprefix(_MARK))
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return {"error": f"the probe interpreter failed: {tail}", "manifest": None, "heavy": [], "references": {}}
