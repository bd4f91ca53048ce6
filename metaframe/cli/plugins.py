"""``metaframe plugins``: every distribution that contributes to metaframe, what it registered, its status."""

from __future__ import annotations

import argparse
import json
from typing import Any

HELP = "list installed distributions contributing to metaframe: entry points, hooks, what they register, status"

COLUMNS = """\
columns (one row per distribution with a metaframe.modalities or metaframe.plugins entry point):
  DISTRIBUTION  the installed distribution (pip name)
  VERSION       its version
  ENTRY POINTS  group:name = value of each of its entry points
  HOOKS         the hooks its metaframe.plugins modules implement (metaframe_register_heads, ...)
  REGISTERS     what it registered: modalities (manifests), datasets (modalities with a dataset
                reader), heads and encoders (through the hooks)
  STATUS        ok; warn: it loaded, but something is off (a misspelt hook name, an entry module
                importing torch); failed: an entry point did not import, a hook raised, or a
                name it provides is provided by another distribution too. The reason follows.

Exit status 1 when any distribution failed. METAFRAME_LOAD_PLUGINS=dist1,dist2 limits which
distributions load (empty: none but the core).
"""


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "plugins",
        help=HELP,
        description=HELP + ".",
        epilog=COLUMNS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    p.add_argument("--debug", action="store_true", help="also print the traceback of each entry point that failed")
    return p


def _cell(values: list[str]) -> str:
    return ", ".join(values) or "-"


def _registers(report: Any) -> str:
    return "; ".join(f"{kind}: {', '.join(names)}" for kind, names in report.registers().items()) or "-"


def _status(report: Any) -> str:
    if report.status == "ok":
        return "ok"
    return f"{report.status}: " + "; ".join(report.errors or report.warnings)


def table(reports: list[Any]) -> str:
    headers = ["DISTRIBUTION", "VERSION", "ENTRY POINTS", "HOOKS", "REGISTERS", "STATUS"]
    body = [
        [r.distribution, r.version or "-", _cell(r.entry_points), _cell(r.hooks), _registers(r), _status(r)]
        for r in reports
    ]
    widths = [max(len(row[i]) for row in [headers, *body]) for i in range(len(headers) - 1)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row[:-1], widths)) + "  " + row[-1] for row in [headers, *body])


def run(args: argparse.Namespace) -> int:
    from metaframe_registry import default_registry
    from metaframe_registry.report import distribution_reports

    reports = distribution_reports(default_registry())
    if args.format == "json":
        print(json.dumps([r.to_dict(tracebacks=args.debug) for r in reports], indent=2))
    else:
        print(table(reports) if reports else "no metaframe plugins installed")
        if args.debug:
            for r in reports:
                for tb in r.tracebacks:
                    print(f"\n--- {r.distribution} ---\n{tb}")
    return 1 if any(r.status == "failed" for r in reports) else 0
