"""Which training values make each modality learn on small data? The grid behind the plugin recipes.

For every task of ``bench_pretrained.py`` (real sklearn / networkx data or generated), the same
tokenizer and a linear classification head train around a frozen encoder with each learning
rate x head pooling x batch size of the grid, everything else fixed (AdamW, wd 0.05, cosine,
``--epochs`` epochs, validation every epoch). Encoders: the packaged pre-trained
``whisper-tiny.en`` and a random encoder of the same shape. Score: the mean validation
accuracy over the epochs (area under the curve: what learns *quickly*), averaged over seeds
and both encoders. The built-in default (lr 1e-3, cls, batch 32) is a row of the grid, so the table
shows what a recipe gains over it.

    .venv/bin/python benchmarks/bench_recipes.py                      # the table in docs/benchmarks.md
    .venv/bin/python benchmarks/bench_recipes.py --tasks digits --seeds 1
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))

from bench_pretrained import TASKS, Encoders, Task, load_task, pretrained_names, say, split, start  # noqa: E402

DEFAULT = (1e-3, "cls", 32)


def run(task: Task, encoder: torch.nn.Module, train_data: list, val_data: list, seed: int, lr: float, pooling: str,
        batch_size: int, epochs: int, root: Path) -> dict[str, Any]:
    from metaframe.engine.trainer import train

    run_dir = Path(tempfile.mkdtemp(dir=root, prefix="run-"))
    config = {  # every field the grid varies or fixes is given, so no recipe applies
        "modalities": {task.modality: {"tokenizer": task.tokenizer, "reader": task.reader}},
        "head": {"kind": "classification", "options": {"pooling": pooling}},
        "data": {},
        "epochs": epochs,
        "batch_size": batch_size,
        "optimizer": {"lr": lr, "weight_decay": 0.05},
        "schedule": {"warmup_steps": 0},
        "seed": seed,
        "device": "cpu",
        "output_dir": str(run_dir / "run"),
    }
    t0 = time.perf_counter()
    result = train(config, encoder=encoder, train_data=train_data, val_data=val_data, quiet=True)
    seconds = time.perf_counter() - t0
    shutil.rmtree(run_dir, ignore_errors=True)
    curve = [r["val_accuracy"] for r in result.history]
    return {"seconds": seconds, "auc": float(np.mean(curve)), "final": curve[-1], "curve": curve}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", default=None, help="comma-separated task names (default: all)")
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--lrs", default="1e-3,3e-3,1e-2")
    p.add_argument("--poolings", default="cls,cls+max+mean")
    p.add_argument("--batch-sizes", default="32,8")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=None, help="per-run results as JSON")
    args = p.parse_args(argv)
    info = start(args.threads)
    import metaframe

    names = [n for n in pretrained_names(say) if n == "whisper-tiny.en"]
    encoders = Encoders(names)
    rows = [r for r in encoders.rows() if r != "none"]
    grid = list(itertools.product([float(x) for x in args.lrs.split(",")], args.poolings.split(","),
                                  [int(x) for x in args.batch_sizes.split(",")]))
    if DEFAULT not in grid:
        grid.insert(0, DEFAULT)
    wanted = args.tasks.split(",") if args.tasks else None
    installed = set(metaframe.list_modalities())
    tasks = [t for t in TASKS if (not wanted or t.name in wanted) and t.modality in installed]
    say(f"protocol: encoders {rows}; seeds {list(range(args.seeds))}; {args.epochs} epochs; grid (lr, pooling, "
        f"batch): {grid}; AdamW wd 0.05, cosine, no warm-up; score = mean validation accuracy over epochs, averaged "
        "over seeds and encoders\n")
    root = Path(tempfile.mkdtemp(prefix="bench-recipes-"))
    records: list[dict[str, Any]] = []
    try:
        for task in tasks:
            task, (sources, labels) = load_task(task, root)
            for seed in range(args.seeds):
                tr, va = split(len(sources), task, seed)
                train_data = [(sources[i], labels[i]) for i in tr]
                val_data = [(sources[i], labels[i]) for i in va]
                for row in rows:
                    for lr, pooling, batch in grid:
                        rec = run(task, encoders.get(row, seed), train_data, val_data, seed, lr, pooling, batch,
                                  args.epochs, root)
                        rec.update(task=task.name, modality=task.modality, row=row, seed=seed, lr=lr, pooling=pooling,
                                   batch_size=batch)
                        records.append(rec)
                        say(f"  {task.name:<14} seed {seed} {row:<24} lr {lr:<6g} {pooling:<13} batch {batch:<3} "
                            f"AUC {rec['auc']:.3f} final {rec['final']:.3f} ({rec['seconds']:.1f}s)")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    say("\n| task (modality) | encoder | built-in (lr 1e-3, cls, batch 32): AUC / final | best of the grid | AUC / final |")
    say("|---|---|---|---|---|")
    best_overall: dict[str, tuple[float, str, int]] = {}
    for task in tasks:
        def score(lr: float, pooling: str, batch: int, row: str | None = None) -> tuple[float, float]:
            hit = [r for r in records if r["task"] == task.name and r["lr"] == lr and r["pooling"] == pooling
                   and r["batch_size"] == batch and (row is None or r["row"] == row)]
            return float(np.mean([r["auc"] for r in hit])), float(np.mean([r["final"] for r in hit]))

        best = max(grid, key=lambda g: score(*g)[0])
        best_overall[task.name] = best
        for row in rows:
            d, b = score(*DEFAULT, row), score(*best, row)
            say(f"| {task.name} ({task.modality}) | {row} | {d[0]:.3f} / {d[1]:.3f} | lr {best[0]:g}, {best[1]}, batch {best[2]} | "
                f"{b[0]:.3f} / {b[1]:.3f} |")
    say("\nbest per task (by the mean over encoders): "
        + ", ".join(f"{t}: lr {b[0]:g} {b[1]} batch {b[2]}" for t, b in best_overall.items()))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"machine": info, "argv": sys.argv, "runs": records}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
