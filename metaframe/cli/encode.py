"""``metaframe encode MODALITY FILES_OR_DIRS… --out FILE|DIR``: embeddings through the frozen encoder.

``--out DIR`` writes resumable shards, from one process or from ``torchrun --nproc-per-node N
-m metaframe encode …`` (metaframe.engine.encode_shards); ``--finalize DIR`` writes the index of
a folder whose shards are all done.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from metaframe.cli.evaluate import TOKEN_MERGING_HELP, token_merging_arg
from metaframe.engine.config import ENCODER_SPEC_HELP

HELP = "embed files (or folders of files) through a tokenizer and the frozen encoder"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "encode",
        help=HELP,
        description=HELP + ". Writes one row per readable file to --out (.safetensors with key 'embeddings', or "
        ".npy) and an index OUT.json naming each row's file and every failure; or, when --out names a folder, "
        "shards of --shard-size inputs and a Parquet index DIR/index.parquet, from one process or from "
        "`torchrun --nproc-per-node N -m metaframe encode ...` (each process its share); the same command "
        "resumes an interrupted run from its complete shards. Without --run the tokenizer is "
        "freshly initialised (a warning says so). Exit status: 0 when every file was encoded, 1 otherwise.",
    )
    p.add_argument("modality", nargs="?", help="modality name (see `metaframe list-modalities`)")
    p.add_argument("inputs", nargs="*", metavar="FILES_OR_DIRS",
                   help="files, folders searched recursively, manifests with --column, or WebDataset .tar shards "
                   "(brace patterns such as 'data/shard-{000000..000127}.tar' and globs are expanded; quote them)")
    p.add_argument("--out", default=None, help="output: a .safetensors or .npy file, or a folder (a path without suffix) "
                   "for resumable shards (needed under torchrun)")
    p.add_argument("--shard-size", type=int, default=1024, metavar="N",
                   help="with a folder --out: inputs per output shard, the unit of resuming (default: 1024)")
    p.add_argument("--no-bucketing", dest="bucket_by_length", action="store_false",
                   help="batch inputs in their given order instead of grouping inputs of similar length (file size) "
                   "to pad less; the rows come out in input order either way")
    p.add_argument("--member", default=None, metavar="EXT",
                   help="inputs that are WebDataset .tar shards: the member extension that feeds the modality, e.g. "
                   "--member flac (default: by extension: .jpg/.png for image, .wav/.flac for audio, .txt for text, "
                   "else the modality's own extensions)")
    p.add_argument("--column", default=None, metavar="COL",
                   help="inputs that are manifests (.csv, .jsonl/.ndjson, .parquet): one input per row, the row's COL "
                   "cell — a path (relative to the manifest) or the value itself (text, in-cell bytes), as training "
                   "reads manifests; rows are named manifest.csv:LINE or manifest.parquet[ROW]. Without --column a "
                   ".csv or .jsonl is an input file like any other")
    p.add_argument("--finalize", default=None, metavar="DIR",
                   help="only write DIR/index.parquet and DIR/index.json over the complete shards of a folder --out "
                   "(done automatically at the end of an encode)")
    p.add_argument("--run", default=None, metavar="RUN_DIR", help="use this run's trained tokenizer and encoder")
    p.add_argument("--preset", default="tiny", help="encoder preset without --run / --encoder (default: tiny)")
    p.add_argument("--encoder", default=None, metavar="SPEC", help="without --run: " + ENCODER_SPEC_HELP)
    p.add_argument("--seed", type=int, default=0, help="seed of a random encoder / tokenizer (default: 0)")
    p.add_argument("--batch-size", type=int, default=32, help="inputs per batch through the encoder (default: 32)")
    p.add_argument("--workers", type=int, default=1, help="reader processes (default: 1)")
    p.add_argument("--pooling", choices=("cls", "mean", "max", "cls+max+mean"), default=None,
                   help="embedding: [CLS], mean or max of the tokens, or all three (default: as the run's head "
                   "pools, cls without --run)")
    p.add_argument("--skip-errors", action="store_true", help="report files that cannot be read, that the tokenizer refuses or whose embedding is not finite, "
                   "leave them out and go on (exit status 1)")
    p.add_argument("--tokenizer-option", dest="tokenizer_options", action="append", default=[], metavar="KEY=VALUE",
                   help="tokenizer option without --run, value parsed as YAML, e.g. --tokenizer-option num_bands=10 "
                   "(repeatable)")
    p.add_argument("--reader-option", dest="reader_options", action="append", default=[], metavar="KEY=VALUE",
                   help="reader option, value parsed as YAML, e.g. --reader-option size=64 (repeatable)")
    p.add_argument("--device", default="auto", help="auto (CUDA when available, else CPU), cpu, cuda, cuda:N, mps (default: auto)")
    p.add_argument("--token-merging", type=token_merging_arg, default=None, metavar="R|RATIO[:decreasing]", help=TOKEN_MERGING_HELP)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    # with MODALITY optional (--finalize), argparse no longer waits for FILES after the options:
    # files that follow them are collected here (metaframe.cli.main)
    p.set_defaults(_intermixed="inputs")
    return p


def run(args: argparse.Namespace) -> int:
    import torch

    from metaframe_registry import ConfigError

    from metaframe.engine.config import encoder_config_from_spec, set_override
    from metaframe.engine.encoding import encode

    if args.finalize is not None:
        return _finalize(args.finalize)
    if args.modality is None or not args.inputs or args.out is None:
        raise ConfigError("expected MODALITY FILES_OR_DIRS... --out FILE|DIR (or --finalize DIR)")

    tokenizer_options: dict[str, Any] = {}
    reader_options: dict[str, Any] = {}
    for assignment in args.tokenizer_options:
        set_override(tokenizer_options, assignment)
    for assignment in args.reader_options:
        set_override(reader_options, assignment)
    torch.manual_seed(args.seed)
    result = encode(
        args.modality, args.inputs, args.out, run=args.run,
        encoder_config=encoder_config_from_spec(args.encoder, args.preset, args.seed),
        batch_size=args.batch_size, num_workers=args.workers, pooling=args.pooling,
        skip_errors=args.skip_errors, device=args.device, quiet=args.quiet, token_merging=args.token_merging,
        tokenizer_options=tokenizer_options, reader_options=reader_options,
        bucket_by_length=args.bucket_by_length, shard_size=args.shard_size, member=args.member,
        column=args.column,
    )
    if result.out is not None and result.out.is_dir():
        if result.index is None:  # a rank other than 0: rank 0 reports for all
            return 0
        print(f"wrote {result.out}: this process embedded {result.encoded} inputs ({result.resumed} were done by an "
              f"earlier run); index {result.index}")
    else:
        print(f"wrote {result.out}: {tuple(result.embeddings.shape)} embeddings; index {result.index}")
    if result.failed:
        listed = result.index.with_suffix(".json") if result.index.suffix == ".parquet" else result.index
        print(f"{len(result.failed)} file(s) could not be encoded (listed in {listed})", file=sys.stderr)
        return 1
    return 0


def _finalize(folder: str) -> int:
    import json

    from metaframe.engine.encode_shards import SUMMARY, finalize_encoded

    index = finalize_encoded(folder)
    summary = json.loads((index.parent / SUMMARY).read_text(encoding="utf-8"))
    print(f"wrote {index}: {summary['rows']} rows over {len(summary['shards'])} shards")
    if summary["failed"]:
        print(f"{len(summary['failed'])} file(s) could not be encoded (listed in {index.parent / SUMMARY})", file=sys.stderr)
        return 1
    return 0
