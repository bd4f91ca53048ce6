"""``metaframe list-modalities``: what discovery found, without importing torch (nor, from a warm cache, pydantic)."""

from __future__ import annotations

import argparse
import json
from typing import Any

HELP = "list installed modality plugins (name, distribution, version, inputs, status: ok, warn or error)"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "list-modalities",
        help=HELP,
        description=HELP + ". Broken plugins are listed with status 'error' and a one-line reason, plugins that "
        "work but are slow to list (an entry module importing torch) with 'warn'; "
        "METAFRAME_LOAD_PLUGINS=dist1,dist2 limits which distributions load (empty: none). Validated manifests of "
        "unchanged entry points are cached under METAFRAME_CACHE_DIR (default ~/.cache/metaframe; empty: off). "
        "Exit status 0 even when plugins are broken (they are listed); --strict makes it 1 when any listed one failed.",
    )
    p.add_argument(
        "pattern",
        nargs="?",
        default=None,
        help="only names matching this shell-style wildcard, e.g. '*ray*' or 'im*' (quote it)",
    )
    p.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    p.add_argument("--debug", action="store_true", help="print the full traceback of plugins that failed to load")
    p.add_argument(
        "--strict",
        action="store_true",
        help="exit with status 1 when any listed plugin has status error (for CI); without it the exit status is 0 "
        "whatever the plugins' statuses",
    )
    return p


def records_as_rows(pattern: str | None = None) -> list[dict[str, Any]]:
    from metaframe_registry import discover_modalities
    from metaframe_registry.manifest_cache import ManifestCache, cache_dir
    from metaframe_registry.names import matching

    # Listing only: validated manifests of unchanged entry points come from the cache, so neither
    # pydantic nor the entry modules are imported; using a modality always validates afresh.
    records = discover_modalities(cache=ManifestCache(cache_dir()))
    names = [r.name for r in records]
    shown = set(matching(names, pattern))
    rows = []
    for r in records:
        if r.name not in shown:
            continue
        error = r.error
        if error is None and names.count(r.name) > 1:
            others = [o.provider() for o in records if o.name == r.name and o is not r]
            error = "duplicate modality name, also provided by " + "; ".join(others)
        m = r.fields()
        status = "error" if error is not None else ("warn" if r.warning is not None else "ok")
        rows.append(
            {
                "name": r.name,
                "distribution": r.distribution,
                "version": r.version,
                "entry_point": r.entry_point,
                "status": status,
                "error": error,
                "warning": r.warning,
                "description": m.get("description"),
                "inputs": m.get("inputs", []),
                "extensions": m.get("extensions", []),
                "schema_version": m.get("schema_version"),
                "info": m.get("info", {}),
                "traceback": r.traceback,
            }
        )
    return rows


def _table(rows: list[dict[str, Any]]) -> str:
    headers = ["NAME", "DISTRIBUTION", "VERSION", "INPUTS", "STATUS"]
    body = []
    for r in rows:
        inputs = ", ".join(r["inputs"] + r["extensions"])
        status = {"ok": "ok", "warn": f"warn: {r['warning']}"}.get(r["status"], f"error: {r['error']}")
        body.append([r["name"], r["distribution"] or "-", r["version"] or "-", inputs or "-", status])
    widths = [max(len(str(row[i])) for row in [headers, *body]) for i in range(len(headers) - 1)]
    lines = []
    for row in [headers, *body]:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(row[:-1], widths)) + "  " + str(row[-1]))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    rows = records_as_rows(args.pattern)
    if args.format == "json":
        for r in rows:
            if not args.debug:
                r.pop("traceback")
        print(json.dumps(rows, indent=2))
    else:
        if not rows and args.pattern is not None:
            print(f"no installed modality matches {args.pattern!r} (run `metaframe list-modalities` for all)")
        elif not rows:
            print("no modality plugins installed (pip install metaframe-image, or see `metaframe new-plugin`)")
        else:
            print(_table(rows))
        if args.debug:
            for r in rows:
                if r["traceback"]:
                    print(f"\n--- {r['name']} ({r['distribution']}) ---\n{r['traceback']}")
    failed = [r for r in rows if r["status"] == "error"]
    if args.strict and failed:
        import sys

        names = ", ".join(f"{r['name']} ({r['distribution'] or '-'})" for r in failed)
        print(f"metaframe list-modalities: --strict: {len(failed)} of {len(rows)} failed: {names}", file=sys.stderr)
        return 1
    return 0
