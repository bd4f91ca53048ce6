"""``metaframe shard SOURCE --out DIR``: a class folder or a manifest written as WebDataset shards."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

HELP = "write a class folder or a CSV / JSONL / Parquet manifest as WebDataset .tar shards"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "shard",
        help=HELP,
        description=HELP + ". A class folder (SOURCE/<class>/<file>) gives one sample per file: the file as "
        "KEY.<its extension> and the class name as KEY.cls. A manifest gives one sample per row: each "
        "--input-column's file (KEY.<its extension>) or text (KEY.txt), and the other columns in KEY.json "
        "(training reads targets from it by name). Shards are SHARD-000000.tar, ... under --out, each written "
        "atomically; the last line printed is the brace pattern to put in data.train.",
        epilog="examples:\n  metaframe shard data/train --out shards/train --max-size 64MB\n"
        "  metaframe shard data/train.csv --out shards/train --max-count 1000 --input-column path",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("source", metavar="SOURCE", help="a folder with one sub-folder per class, or a .csv / .jsonl / .parquet manifest")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the shards (must hold no shards yet)")
    p.add_argument("--max-size", default=None, metavar="SIZE",
                   help="largest shard, e.g. 64MB, 500kB, 1GiB (a sample larger than this gets a shard of its own)")
    p.add_argument("--max-count", type=int, default=None, metavar="N", help="most samples per shard")
    p.add_argument("--modality", default=None, metavar="NAME",
                   help="class folder: keep only files with this modality's extensions (default: every file)")
    p.add_argument("--input-column", action="append", default=None, metavar="COLUMN",
                   help="manifest: a column holding sample files or text (repeatable; default: path)")
    p.add_argument("--prefix", default="shard", help="shard file name prefix (default: shard)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def run(args: argparse.Namespace) -> int:
    from metaframe_registry import ConfigError

    from metaframe.engine.manifests import MANIFEST_SUFFIXES
    from metaframe.engine.shard_writer import brace_pattern, parse_size, samples_from_folder, samples_from_manifest, write_shards

    source = Path(args.source)
    if not source.exists():
        raise ConfigError(f"{source}: does not exist (expected a class folder or a manifest)")
    if source.is_dir():
        exts: list[str] = []
        if args.modality:
            from metaframe.api import get_modality

            exts = list(get_modality(args.modality).manifest.extensions)
        samples, total = samples_from_folder(source, exts)
    elif source.suffix.lower() in MANIFEST_SUFFIXES:
        samples, total = samples_from_manifest(source, args.input_column or ["path"])
    else:
        raise ConfigError(f"{source}: expected a class folder or a manifest ({', '.join(MANIFEST_SUFFIXES)})")
    size = parse_size(args.max_size) if args.max_size is not None else None
    paths = write_shards(samples, args.out, max_size=size, max_count=args.max_count, prefix=args.prefix,
                         total=total, quiet=args.quiet)
    if not args.quiet:
        import sys

        print(f"wrote {total} samples in {len(paths)} shards under {args.out}", file=sys.stderr)
    print(brace_pattern(paths))
    return 0
