"""Frozen vs LoRA vs prompts on one real task: accuracy, trainable parameters, seconds per step.

The task is ``bench_pretrained.py``'s sklearn digits (8x8, 200 train / 200 val), the encoder the
packaged pre-trained ``whisper-tiny.en`` when it builds (else a random 4x384 ViT). Every row
trains the same tokenizer and linear head with the same seed, data, batch size, steps and
learning rate; only ``encoder.adapters`` / ``encoder.prompts`` differ.

    .venv/bin/python benchmarks/bench_tuning.py                 # the table in docs/benchmarks.md
    .venv/bin/python benchmarks/bench_tuning.py --epochs 6 --seeds 2 # a longer budget
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from bench_pretrained import TASKS, Encoders, load_task, pretrained_names, say, split, start  # noqa: E402

ROWS: dict[str, dict[str, Any]] = {
    "frozen": {},
    "LoRA r8 qkv+proj": {"adapters": {"rank": 8, "alpha": 16, "targets": ["qkv", "proj"]}},
    "LoRA r8 all four": {"adapters": {"rank": 8, "alpha": 16, "targets": ["qkv", "proj", "fc1", "fc2"]}},
    "prompts 8 shallow": {"prompts": {"num_tokens": 8}},
    "prompts 8 deep": {"prompts": {"num_tokens": 8, "deep": True}},
}


def run(task: Any, encoder: Any, tuning: dict[str, Any], train_data: list, val_data: list, seed: int, epochs: int,
        batch_size: int, lr: float, root: Path) -> dict[str, Any]:
    from metaframe.engine.trainer import train

    run_dir = Path(tempfile.mkdtemp(dir=root, prefix="run-"))
    config = {
        "modalities": {task.modality: {"tokenizer": task.tokenizer, "reader": task.reader}},
        "encoder": tuning,
        "head": {"kind": "classification"},
        "data": {},
        "epochs": epochs,
        "batch_size": batch_size,
        "optimizer": {"lr": lr, "weight_decay": 0.05},
        "seed": seed,
        "device": "cpu",
        "output_dir": str(run_dir / "run"),
    }
    stamps: list[float] = []
    t0 = time.perf_counter()
    result = train(config, encoder=encoder, train_data=train_data, val_data=val_data, quiet=True,
                   callback=lambda _: stamps.append(time.perf_counter()))
    seconds = time.perf_counter() - t0
    step = float(np.median(np.diff(stamps))) if len(stamps) > 1 else seconds  # median: validation left out
    counts = json.loads((result.run_dir / "parameters.json").read_text())
    shutil.rmtree(run_dir, ignore_errors=True)
    curve = [r["val_accuracy"] for r in result.history]
    return {"seconds": seconds, "steps": result.steps, "s_per_step": step,
            "final": curve[-1], "best": max(curve), "counts": counts}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=None, help="per-run results as JSON")
    args = p.parse_args(argv)
    info = start(args.threads)
    names = [n for n in pretrained_names(say) if n == "whisper-tiny.en"]
    encoders = Encoders(names)
    row_encoder = names[0] if names else "random 4x384 (vit)"
    task = next(t for t in TASKS if t.name == "digits")
    say(f"protocol: {task.data}; encoder {row_encoder} ({encoders.describe(row_encoder)}); seeds "
        f"{list(range(args.seeds))}; {args.epochs} epochs, batch {args.batch_size}, AdamW lr {args.lr:g} wd 0.05, "
        "cosine; validation accuracy after the last epoch (final) and the best epoch; s / step: median time between "
        "optimiser steps (validation left out)\n")
    root = Path(tempfile.mkdtemp(prefix="bench-tuning-"))
    records: list[dict[str, Any]] = []
    try:
        task, (sources, labels) = load_task(task, root)
        for seed in range(args.seeds):
            tr, va = split(len(sources), task, seed)
            train_data = [(sources[i], labels[i]) for i in tr]
            val_data = [(sources[i], labels[i]) for i in va]
            for row, tuning in ROWS.items():
                rec = run(task, encoders.get(row_encoder, seed), tuning, train_data, val_data, seed, args.epochs,
                          args.batch_size, args.lr, root)
                rec.update(row=row, seed=seed)
                records.append(rec)
                say(f"  seed {seed} {row:<18} final {rec['final']:.3f} best {rec['best']:.3f} "
                    f"{rec['s_per_step']:.3f} s/step ({rec['seconds']:.1f}s, {rec['steps']} steps)")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    say("\n| tuning | val accuracy final (mean ± sd) | best epoch | trainable: total | adapters | prompts | s / step |")
    say("|---|---|---|---|---|---|---|")
    for row in ROWS:
        hit = [r for r in records if r["row"] == row]
        final, best = [r["final"] for r in hit], [r["best"] for r in hit]
        c = hit[0]["counts"]
        say(f"| {row} | {np.mean(final):.3f} ± {np.std(final):.3f} | {np.mean(best):.3f} | {c['total']:,} | "
            f"{c['adapters']:,} | {c['prompts']:,} | {np.mean([r['s_per_step'] for r in hit]):.3f} |")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"machine": info, "argv": sys.argv, "runs": records}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
