"""``metaframe export RUN_DIR --format onnx|exported-program``: a run's tensor part as one graph file."""

from __future__ import annotations

import argparse
from typing import Any

HELP = "export a trained run's tokenizer, frozen encoder and heads as ONNX or a torch.export program"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "export",
        help=HELP,
        description=HELP + ". The graph starts at the collated batch: reading and collating stay in Python "
        "(for tabular also the tokenizer's tensor_batch lookups; docs/export.md). The batch size is dynamic, and so is every other size the graph allows (a text "
        "length, a number of frames); a JSON file beside the export names the inputs, their dtypes and "
        "dynamic axes, the outputs, the encoder and the run.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory written by `metaframe train`")
    p.add_argument("--format", dest="fmt", choices=("onnx", "exported-program"), default="onnx",
                   help="onnx (needs pip install 'metaframe[export]') or exported-program (.pt2, "
                   "torch.export.load) (default: onnx)")
    p.add_argument("--modality", default=None, help="which modality to export (default: the run's only one)")
    p.add_argument("--out", default=None, help="output file (default: RUN_DIR/export/MODALITY.onnx or .pt2)")
    p.add_argument("--checkpoint", choices=("best", "last"), default="best", help="which checkpoint (default: best)")
    p.add_argument("--sample", action="append", default=None, metavar="SOURCE",
                   help="an input to trace with (repeat it; default: the plugin's example inputs)")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def run(args: argparse.Namespace) -> int:
    from metaframe.export import export_run

    path = export_run(args.run_dir, args.fmt, modality=args.modality, out=args.out, checkpoint=args.checkpoint,
                      sources=args.sample)
    print(f"wrote {path}")
    print(f"wrote {path.with_name(path.name + '.json')}")
    return 0
