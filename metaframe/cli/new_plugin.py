"""``metaframe new-plugin NAME``: write a complete, installable modality plugin to start from.

The templates live in ``metaframe/templates/plugin`` (package data). ``{{name}}``,
``{{package}}``, ``{{distribution}}`` and ``{{cls}}`` are replaced in file contents and
paths; the folder ``package`` becomes the import package ``metaframe_<name>``.
"""

from __future__ import annotations

import argparse
import re
from importlib import resources
from pathlib import Path
from typing import Any

from metaframe_registry import NAME_PATTERN
from metaframe_registry.names import NAME_RULE

HELP = "write a new modality plugin (pyproject, torch-free manifest, reader, tokenizer, README, kit tests)"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "new-plugin",
        help=HELP,
        description=HELP + ". The result installs with pip, shows in `metaframe list-modalities` and passes its "
        "generated tests (the metaframe conformance kit) as written; then replace the reader and tokenizer.",
    )
    p.add_argument("name", help=f"modality name: {NAME_RULE}")
    p.add_argument(
        "--dir",
        default=None,
        help="folder to create (must be absent or empty; default: ./metaframe-NAME, with '_' as '-')",
    )
    return p


def substitutions(name: str) -> dict[str, str]:
    """The placeholder values for a modality name."""
    return {
        "name": name,
        "package": f"metaframe_{name}",
        "distribution": "metaframe-" + name.replace("_", "-"),
        "cls": "".join(part.capitalize() for part in name.split("_")),
    }


def _render(text: str, values: dict[str, str]) -> str:
    return re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)], text)


def write_plugin(name: str, directory: str | Path | None = None) -> list[Path]:
    """Write the plugin for modality ``name`` into ``directory``; returns the files written."""
    from metaframe_registry import ConfigError

    if not re.match(NAME_PATTERN, name):
        raise ConfigError(f"modality name {name!r} is not valid: expected {NAME_RULE}")
    values = substitutions(name)
    target = Path(directory) if directory is not None else Path(values["distribution"])
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ConfigError(f"{target}: already exists and is not an empty folder; choose another --dir")
    root = resources.files("metaframe") / "templates" / "plugin"
    written: list[Path] = []

    def walk(node: Any, relative: Path) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            if child.name == "__pycache__":
                continue
            part = values["package"] if child.name == "package" and child.is_dir() else _render(child.name, values)
            if child.is_dir():
                walk(child, relative / part)
                continue
            out = target / relative / part.removesuffix(".tmpl")
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(_render(child.read_text(encoding="utf-8"), values), encoding="utf-8")
            written.append(out)

    walk(root, Path())
    return written


def installed_provider(name: str) -> str | None:
    """The distribution already providing modality ``name``, if one is installed."""
    from metaframe_registry import default_registry

    for record in default_registry().modality_records():
        if record.name == name:
            return record.distribution or "?"
    return None


def run(args: argparse.Namespace) -> int:
    import sys

    files = write_plugin(args.name, args.dir)
    provider = installed_provider(args.name)
    if provider is not None:
        print(
            f"note: a modality named {args.name!r} is already installed (from {provider}); installing both is an "
            "error when the modality is used. Rename it, or uninstall the other.",
            file=sys.stderr,
        )
    target = files[0].parent if files else Path(".")
    while not (target / "pyproject.toml").exists() and target != target.parent:
        target = target.parent
    dist = substitutions(args.name)["distribution"]
    print(f"wrote {dist} into {target} ({len(files)} files):")
    for f in files:
        print(f"  {f}")
    print(
        "\nnext:\n"
        f"  pip install -e {target}\n"
        f"  metaframe list-modalities            # '{args.name}' is listed\n"
        f"  metaframe validate {target} --imports\n"
        f"  pytest {target / 'tests'}"
    )
    return 0
