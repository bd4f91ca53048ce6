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
    "metaframe.cli.plugins",
    "metaframe.cli.convert_checkpoint",
    "metaframe.cli.train",
    "metaframe.cli.evaluate",
    "metaframe.cli.encode",
    "metaframe.cli.search",
    "metaframe.cli.shard",
    "metaframe.cli.zero_shot",
    "metaframe.cli.demo",
    "metaframe.cli.new_plugin",
    "metaframe.cli.validate",
    "metaframe.cli.export",
)

DESCRIPTION = """\
metaframe: one frozen, shared transformer encoder for many kinds of data.

A per-modality tokenizer (a plugin) turns data into tokens, the frozen encoder
transforms them, a head predicts; only tokenizers and heads train.
"""


def command_name(module: str) -> str:
    """``metaframe.cli.list_modalities`` -> ``list-modalities``."""
    return module.rpartition(".")[2].replace("_", "-")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``only`` (a command name) just that sub-command is imported and added.

    Importing every sub-command module costs what their imports cost (the engine's pydantic
    config for ``train``); ``metaframe list-modalities`` should cost a listing, not that.
    """
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
        if only is not None and command_name(name) != only:
            continue
        module = importlib.import_module(name)
        sp = module.add_parser(sub)
        sp.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    requested = argv[0] if argv and argv[0] in {command_name(m) for m in COMMANDS} else None
    parser = build_parser(only=requested)
    args, extra = parser.parse_known_args(argv)
    # a command whose files may follow its options (`zero-shot RUN --labels a,b FILES`) names the
    # positional that collects them as _intermixed; anything else left over is an error as usual
    target = getattr(args, "_intermixed", None)
    if extra and target is not None and not any(e.startswith("-") for e in extra):
        setattr(args, target, [*getattr(args, target), *extra])
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
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
