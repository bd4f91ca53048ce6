"""``metaframe validate``: check a plugin (folder or installed distribution) without running a model."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

HELP = (
    "check a plugin without running a model (manifest, entry points, hooks and what they register, "
    "torch-free import, files)"
)


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


def hook_entries(target: str) -> tuple[str | None, dict[str, str], Path | None]:
    """(distribution, ``metaframe.plugins`` entry points, source path) of a folder or installed target."""
    from importlib import metadata

    from metaframe_registry import PLUGIN_GROUP, default_registry

    folder = Path(target)
    if folder.exists():
        folder = folder.parent if folder.name == "pyproject.toml" else folder
        try:
            try:
                import tomllib
            except ModuleNotFoundError:  # Python 3.10
                import tomli as tomllib  # type: ignore[no-redef]
            project = tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8")).get("project", {})
        except (OSError, ValueError):
            return None, {}, None  # validate_plugin reports the unreadable pyproject.toml
        entries = dict(project.get("entry-points", {}).get(PLUGIN_GROUP, {}))
        return project.get("name"), entries, folder / "src" if (folder / "src").is_dir() else folder
    try:
        dist = metadata.distribution(target)
    except metadata.PackageNotFoundError:
        providers = {r.distribution for r in default_registry().modality_records() if r.name == target and r.distribution}
        if len(providers) != 1:
            return None, {}, None
        dist = metadata.distribution(providers.pop())
    entries = {ep.name: ep.value for ep in dist.entry_points if ep.group == PLUGIN_GROUP}
    return dist.metadata["Name"], entries, None


def run(args: argparse.Namespace) -> int:
    from metaframe_registry.hook_check import check_hook_entries

    from metaframe.testing.validation import validate_plugin

    report = validate_plugin(args.target, imports=args.imports)
    dist, entries, extra = hook_entries(args.target)
    if entries:
        # a distribution of hooks only (heads, encoders) needs no modality entry point
        report.findings = [f for f in report.findings if not f.message.startswith("no entry points in group")]
        if report.kind == "not found":
            report.findings = []
        check_hook_entries(report, entries, dist, extra, args.imports)
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
