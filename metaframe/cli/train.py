"""``metaframe train CONFIG``: train tokenizers and heads around the frozen encoder."""

from __future__ import annotations

import argparse
from typing import Any

HELP = "train tokenizers and heads (never the encoder) from a YAML / TOML / JSON config"

EPILOG = """\
examples:
  metaframe train config.yaml
  metaframe train config.yaml --set optimizer.lr=3e-4 --set epochs=20
  metaframe train config.yaml --resume runs/my-run        # continue an interrupted run
  metaframe train config.yaml --resume runs/my-run --set optimizer.lr=1e-4 --allow-config-change
  metaframe train config.yaml --print-config              # show the resolved config and exit
  torchrun --nproc-per-node 2 -m metaframe train config.yaml   # DistributedDataParallel
"""


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "train",
        help=HELP,
        description=HELP + ". The run directory (output_dir) receives the resolved config, metrics.jsonl, "
        "checkpoints (best and last, safetensors of the trainable parts) and curves.png.",
        epilog=EPILOG + "\nconfig fields (full reference: docs/config.md):\n" + "\n".join(_fields()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("config", help="config file (.yaml, .yml, .toml or .json)")
    p.add_argument("--resume", metavar="RUN_DIR", default=None, help="continue RUN_DIR from its last complete checkpoint")
    p.add_argument("--allow-config-change", action="store_true",
                   help="with --resume: apply fields that differ from the run's config.yaml (besides epochs, max_steps, "
                   "checkpoint_every, log_every, num_workers, device) and record them in RUN_DIR/config_changes.jsonl; "
                   "without it such a difference is an error listing them")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field, e.g. --set optimizer.lr=0.001 (repeatable)")
    p.add_argument("--output-dir", default=None, help="run directory (overrides output_dir)")
    p.add_argument("--device", default=None, help="auto (CUDA when available, else CPU), cpu, cuda, cuda:N, mps (overrides device; default: the config's, auto)")
    p.add_argument("--skip-errors", action="store_true",
                   help="WebDataset shards: report a corrupt shard or a member that cannot be decoded (shard and key) "
                   "and go on (sets data.skip_errors)")
    p.add_argument("--print-config", action="store_true",
                   help="print the resolved config as YAML, with where each value came from (the config, "
                   "a plugin's recipe, the built-in default) as comments, and exit")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or per-epoch lines")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def _fields() -> list[str]:
    from metaframe.engine.config import field_lines

    return field_lines()


def run(args: argparse.Namespace) -> int:
    from metaframe_registry import ConfigError

    try:
        return _run(args)
    except ConfigError as exc:  # every config error names the file it is about, on one line
        raise ConfigError(in_file(args.config, exc)) from None


def in_file(config: str, exc: Exception) -> str:
    """``CONFIG: message`` unless the message already starts with the config file's name."""
    from pathlib import Path

    text = str(exc)
    if text.startswith((config, str(Path(config)))):
        return text
    return f"{config}: " + " ".join(text.split())


def _run(args: argparse.Namespace) -> int:
    from metaframe.engine.config import config_to_dict, load_config

    overrides = list(args.overrides)
    if args.output_dir:
        overrides.append(f"output_dir={args.output_dir}")
    if args.device:
        overrides.append(f"device={args.device}")
    if args.skip_errors:
        overrides.append("data.skip_errors=true")
    config = load_config(args.config, overrides)
    if args.print_config:
        import yaml

        from metaframe.engine.recipes import provenance_comment, resolve_config

        resolved = resolve_config(config)
        print(yaml.safe_dump(config_to_dict(resolved.config), sort_keys=False), end="")
        print(provenance_comment(resolved), end="")
        return 0
    from metaframe.engine.trainer import train

    result = train(config, resume=args.resume, quiet=args.quiet, allow_config_change=args.allow_config_change)
    if not args.quiet and result.run_dir is not None:
        import os

        if int(os.environ.get("RANK", "0")) == 0:
            final = result.final
            shown = ", ".join(f"{k} {v:.4f}" for k, v in final.items() if k.startswith("val_") and isinstance(v, float))
            print(f"trained {result.steps} steps; run directory: {result.run_dir}")
            if shown:
                print(f"last epoch: {shown}")
            if result.best_checkpoint:
                print(f"best checkpoint: {result.best_checkpoint}")
    return 0
