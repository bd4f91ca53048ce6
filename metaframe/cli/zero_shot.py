"""``metaframe zero-shot RUN --labels a,b --template "a photo of {}" FILES``: classify through prompts."""

from __future__ import annotations

import argparse
from typing import Any

HELP = "classify files with an aligned run by the most similar label prompt (no classifier trained)"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "zero-shot",
        help=HELP,
        description=HELP + ". Each label becomes a prompt (--template), embedded through the run's text side; "
        "each file takes the label whose prompt is most similar (printed: label, similarity, file). With --data "
        "FOLDER (one sub-folder per label) the accuracy is printed instead, the predictions go to --out.",
        epilog='example: metaframe zero-shot runs/align --labels zero,one,two --template "a photo of the digit {}" '
        "digits/*.png",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="an aligned run (trained with align: in its config)")
    p.add_argument("inputs", nargs="*", metavar="FILES_OR_DIRS", help="files (or folders) to classify")
    p.add_argument("--labels", default=None, help="comma-separated labels (default with --data: its sub-folder names)")
    p.add_argument("--template", default="{}", help="prompt for each label, {} is the label (default: the label alone)")
    p.add_argument("--data", default=None, metavar="FOLDER", help="labelled folder (FOLDER/LABEL/FILE): report accuracy")
    p.add_argument("--modality", default=None, help="the files' modality (default: the run's only one besides the prompts')")
    p.add_argument("--prompt-modality", default="text", help="modality the prompts are embedded as (default: text)")
    p.add_argument("--out", default=None, metavar="FILE.json", help="also write the predictions (and accuracy) as JSON")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--device", default="auto", help="auto (CUDA when available, else CPU), cpu, cuda, cuda:N, mps (default: auto)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    p.set_defaults(_intermixed="inputs")  # files may also follow the options (metaframe.cli.main)
    return p


def run(args: argparse.Namespace) -> int:
    import json

    from metaframe_registry import ConfigError

    from metaframe.atomic import atomic_write_text
    from metaframe.space import infer_modality, labelled_folder, load_aligned, zero_shot

    if (not args.inputs) == (args.data is None):
        raise ConfigError("give FILES_OR_DIRS to classify or --data FOLDER to measure accuracy (one of the two)")
    model = load_aligned(args.run_dir, device=args.device)
    modality = infer_modality(model, args.prompt_modality, args.modality)
    inputs, truth = list(args.inputs), None
    if args.data is not None:
        inputs, truth = labelled_folder(args.data, modality)
    labels = [label.strip() for label in args.labels.split(",")] if args.labels else sorted(set(truth or []))
    if not labels:
        raise ConfigError("--labels: required when classifying FILES_OR_DIRS, e.g. --labels cat,dog")
    if truth is not None:
        unknown = sorted(set(truth) - set(labels))
        if unknown:
            raise ConfigError(f"--data: sub-folder(s) {', '.join(unknown)} are not among --labels ({', '.join(labels)})")
    result = zero_shot(
        model, inputs, labels, args.template, modality=modality, prompt_modality=args.prompt_modality,
        truth=truth, batch_size=args.batch_size, device=args.device, quiet=args.quiet,
    )
    if truth is None:  # with --data the accuracy is the result; --out keeps the per-file predictions
        for source, label, row in zip(result.sources, result.predictions, result.scores):
            print(f"{label}\t{float(row.max()):.4f}\t{source}")
    if result.accuracy is not None:
        print(f"zero-shot accuracy {result.accuracy:.4f} on {len(result.truth or [])} files "
              f"(chance {result.chance:.4f}, {len(result.labels)} labels)")
    if args.out:
        payload = {"labels": result.labels, "prompts": result.prompts, "accuracy": result.accuracy,
                   "chance": result.chance, "predictions": [
                       {"source": s, "label": p, **({"truth": t} if result.truth else {})}
                       for s, p, t in zip(result.sources, result.predictions, result.truth or [None] * len(result.sources))]}
        atomic_write_text(args.out, json.dumps(payload, indent=2) + "\n")
    return 0
