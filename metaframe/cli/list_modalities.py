"""``metaframe list-modalities``: what discovery found, without importing torch."""

from __future__ import annotations

import argparse
import json
from typing import Any

HELP = "list installed modality plugins (name, distribution, version, inputs, status)"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "list-modalities",
        help=HELP,
        description=HELP + ". Broken plugins are listed with status 'error' and a one-line reason; "
        "METAFRAME_LOAD_PLUGINS=dist1,dist2 limits which distributions load (empty: none).",
    )
    p.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    p.add_argument("--debug", action="store_true", help="print the full traceback of plugins that failed to load")
    return p


def records_as_rows() -> list[dict[str, Any]]:
    from metaframe_registry import default_registry

    records = default_registry().modality_records()
    names = [r.name for r in records]
    rows = []
    for r in records:
        error = r.error
        if error is None and names.count(r.name) > 1:
            others = [o.provider() for o in records if o.name == r.name and o is not r]
            error = "duplicate modality name, also provided by " + "; ".join(others)
        m = r.manifest
        rows.append(
            {
                "name": r.name,
                "distribution": r.distribution,
                "version": r.version,
                "entry_point": r.entry_point,
                "status": "ok" if error is None else "error",
                "error": error,
                "description": m.description if m else None,
                "inputs": m.inputs if m else [],
                "extensions": m.extensions if m else [],
                "schema_version": m.schema_version if m else None,
                "info": m.info if m else {},
                "traceback": r.traceback,
            }
        )
    return rows


def _table(rows: list[dict[str, Any]]) -> str:
    headers = ["NAME", "DISTRIBUTION", "VERSION", "INPUTS", "STATUS"]
    body = []
    for r in rows:
        inputs = ", ".join(r["inputs"] + r["extensions"])
        status = "ok" if r["status"] == "ok" else f"error: {r['error']}"
        body.append([r["name"], r["distribution"] or "-", r["version"] or "-", inputs or "-", status])
    widths = [max(len(str(row[i])) for row in [headers, *body]) for i in range(len(headers) - 1)]
    lines = []
    for row in [headers, *body]:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(row[:-1], widths)) + "  " + str(row[-1]))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    rows = records_as_rows()
    if args.format == "json":
        for r in rows:
            if not args.debug:
                r.pop("traceback")
        print(json.dumps(rows, indent=2))
    else:
        if not rows:
            print("no modality plugins installed (pip install metaframe-image, or see `metaframe new-plugin`)")
        else:
            print(_table(rows))
        if args.debug:
            for r in rows:
                if r["traceback"]:
                    print(f"\n--- {r['name']} ({r['distribution']}) ---\n{r['traceback']}")
    return 0
