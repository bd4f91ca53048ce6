"""``metaframe validate``: check a plugin (folder or installed distribution) without running a model."""

from __future__ import annotations

import argparse
import json
from typing import Any

HELP = "check a modality plugin without running a model (manifest, entry point, torch-free import, files)"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "validate",
        help=HELP,
        description=HELP + ". Each entry point is loaded in a fresh interpreter. Exit status 1 when a check fails; "
        "warnings do not fail. For behaviour (shapes, padding, gradients) run the conformance kit: "
        "pytest with metaframe.testing.parametrize_with_checks.",
    )
    p.add_argument("target", metavar="DISTRIBUTION_OR_PATH", help="a plugin folder (with pyproject.toml), an installed distribution or an installed modality name")
    p.add_argument("--imports", action="store_true", help="also import every 'module:attr' the manifest names")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    return p


def run(args: argparse.Namespace) -> int:
    from metaframe.testing.validation import validate_plugin

    report = validate_plugin(args.target, imports=args.imports)
    if args.format == "json":
        print(
            json.dumps(
                {
                    "target": report.target,
                    "kind": report.kind,
                    "ok": report.ok,
                    "findings": [{"level": f.level, "message": f.message} for f in report.findings],
                },
                indent=2,
            )
        )
    else:
        print(report)
    return 0 if report.ok else 1
