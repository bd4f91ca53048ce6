"""``metaframe encode MODALITY FILES_OR_DIRS… --out FILE``: embeddings through the frozen encoder."""

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
        ".npy) and an index OUT.json naming each row's file and every failure. Without --run the tokenizer is "
        "freshly initialised (a warning says so). Exit status: 0 when every file was encoded, 1 otherwise.",
    )
    p.add_argument("modality", help="modality name (see `metaframe list-modalities`)")
    p.add_argument("inputs", nargs="+", metavar="FILES_OR_DIRS", help="files, or folders searched recursively")
    p.add_argument("--out", required=True, help="output file: .safetensors or .npy")
    p.add_argument("--run", default=None, metavar="RUN_DIR", help="use this run's trained tokenizer and encoder")
    p.add_argument("--preset", default="tiny", help="encoder preset without --run / --encoder (default: tiny)")
    p.add_argument("--encoder", default=None, metavar="SPEC", help="without --run: " + ENCODER_SPEC_HELP)
    p.add_argument("--seed", type=int, default=0, help="seed of a random encoder / tokenizer (default: 0)")
    p.add_argument("--batch-size", type=int, default=32)
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
    return p


def run(args: argparse.Namespace) -> int:
    import torch

    from metaframe.engine.config import encoder_config_from_spec, set_override
    from metaframe.engine.encoding import encode

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
    )
    print(f"wrote {result.out}: {tuple(result.embeddings.shape)} embeddings; index {result.index}")
    if result.failed:
        print(f"{len(result.failed)} file(s) could not be encoded (listed in {result.index})", file=sys.stderr)
        return 1
    return 0
