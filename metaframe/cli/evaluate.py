"""``metaframe evaluate RUN_DIR``: accuracy / macro-F1 / confusion matrix, or MAE / MSE, as JSON."""

from __future__ import annotations

import argparse
from typing import Any

HELP = "evaluate a trained run on labelled data and write a JSON report"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "evaluate",
        help=HELP,
        description=HELP + ". Classification heads get accuracy, macro-F1 and a confusion matrix (JSON and PNG); "
        "regression and forecasting heads get MAE and MSE. Data is read like training data (class folders, "
        "CSV / JSONL / Parquet manifest, WebDataset shards, or a plugin dataset file).",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory written by `metaframe train`")
    p.add_argument("--data", default=None, help="labelled data, read as data.train is; quote a shard pattern such as "
                   "'shards/test-{000000..000009}.tar' (default: the run's validation split)")
    p.add_argument("--out", default=None, help="report folder (default: RUN_DIR/eval)")
    p.add_argument("--checkpoint", choices=("best", "last"), default="best", help="which checkpoint (default: best)")
    p.add_argument("--batch-size", type=int, default=None, help="default: the run's batch size")
    p.add_argument("--workers", type=int, default=0, help="DataLoader worker processes (default: 0)")
    p.add_argument("--device", default="auto", help="auto (CUDA when available, else CPU), cpu, cuda, cuda:N, mps (default: auto)")
    p.add_argument("--token-merging", type=token_merging_arg, default=None, metavar="R|RATIO[:decreasing]", help=TOKEN_MERGING_HELP)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


TOKEN_MERGING_HELP = (
    "merge tokens in the frozen encoder (ToMe): an integer R merges R tokens per block, a fraction such as 0.5 "
    "merges that share of the input over all blocks, 0 switches it off; ':decreasing' after either (0.9:decreasing) "
    "merges more in the early blocks (default: the run config's encoder.token_merging)"
)


def token_merging_arg(text: str) -> Any:
    """``--token-merging 8`` → r=8; ``0.5`` → ratio=0.5; ``0.9:decreasing`` → ratio=0.9, decreasing schedule."""
    from metaframe.merging import TokenMerging

    amount, _, schedule = text.partition(":")
    try:
        if "." in amount:
            return TokenMerging(ratio=float(amount), schedule=schedule or "constant")
        return TokenMerging(r=int(amount), schedule=schedule or "constant")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected an integer r >= 0 or a ratio in [0, 1), optionally followed by :decreasing ({exc})"
        ) from None


def run(args: argparse.Namespace) -> int:
    from metaframe.engine.evaluation import evaluate, summary_lines

    report = evaluate(
        args.run_dir, args.data, out=args.out, checkpoint=args.checkpoint, batch_size=args.batch_size,
        num_workers=args.workers, device=args.device, quiet=args.quiet, token_merging=args.token_merging,
    )
    for line in summary_lines(report):
        print(line)
    print(f"report: {report['report_path']}")
    return 0
