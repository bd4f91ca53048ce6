"""Entry point of the ``metaframe`` command: argparse with one module per sub-command."""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from metaframe_registry import MetaframeError

# Sub-command modules in the order --help lists them; each defines add_parser(subparsers) and run(args).
COMMANDS: tuple[str, ...] = (
    "metaframe.cli.list_modalities",
    "metaframe.cli.convert_checkpoint",
    "metaframe.cli.train",
    "metaframe.cli.evaluate",
    "metaframe.cli.encode",
    "metaframe.cli.demo",
    "metaframe.cli.new_plugin",
    "metaframe.cli.validate",
)

DESCRIPTION = """\
metaframe: one frozen, shared transformer encoder for many kinds of data.

A per-modality tokenizer (a plugin) turns data into tokens, the frozen encoder
transforms them, a head predicts; only tokenizers and heads train.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="metaframe",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run `metaframe COMMAND --help` for a command's options.",
    )
    from metaframe import __version__

    parser.add_argument("--version", action="version", version=f"metaframe {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(name)
        sp = module.add_parser(sub)
        sp.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except MetaframeError as exc:
        if getattr(args, "debug", False):
            raise
        print(f"metaframe {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
