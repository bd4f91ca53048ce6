"""Frozen vs LoRA vs prompts on one real task: test accuracy, trainable parameters, seconds per step.

The task is sklearn digits (8x8, real) read by the image plugin, the encoder the packaged
pre-trained ``whisper-tiny.en`` (else a random 4x384 ViT), the training the image plugin's
recipe (linear head on cls+max+mean, batch 8) for ``--epochs`` epochs: a budget in which the
frozen row reaches a real accuracy. Every row trains the same tokenizer and head with the same
seed, data, batch size and steps; only ``encoder.adapters`` / ``encoder.prompts`` differ.

Fair learning rates: each row is trained at every ``--lrs`` value; the lr of a row is the one
with the best mean accuracy on a *selection* split (over seeds), and the table reports that
lr's accuracy on a separate *test* split that chose nothing. The seed changes the three-way
split and the training seed; rows run interleaved (seed, lr, row), so load hits them alike.

    .venv/bin/python benchmarks/bench_tuning.py --threads 1 --out runs/bench_tuning.json
    .venv/bin/python benchmarks/bench_tuning.py --threads 1 --epochs 1 --seeds 1 --lrs 1e-2   # smoke
    .venv/bin/python benchmarks/bench_tuning.py --report runs/a.json runs/b.json   # two runs' table
    .venv/bin/python benchmarks/bench_tuning.py --threads 1 --lrs 1e-2 --rows "frozen,LoRA r8 qkv+proj (adapters.lr 1e-3)"
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
import torch

sys.path.insert(0, str(Path(__file__).parent))

from bench_pretrained import TASKS, Encoders, load_task, pretrained_names, say, start  # noqa: E402

ROWS: dict[str, dict[str, Any]] = {
    "frozen": {},
    "LoRA r8 qkv+proj": {"adapters": {"rank": 8, "alpha": 16, "targets": ["qkv", "proj"]}},
    "LoRA r8 all four": {"adapters": {"rank": 8, "alpha": 16, "targets": ["qkv", "proj", "fc1", "fc2"]}},
    # the adapters at their own lr (encoder.adapters.lr), tokenizer and head at --lrs: the lr LoRA tolerates
    # (1e-3 above) without slowing the rest down
    "LoRA r8 qkv+proj (adapters.lr 1e-3)": {"adapters": {"rank": 8, "alpha": 16, "targets": ["qkv", "proj"], "lr": 1e-3}},
    "LoRA r8 qkv+proj (adapters.lr 3e-4)": {"adapters": {"rank": 8, "alpha": 16, "targets": ["qkv", "proj"], "lr": 3e-4}},
    "prompts 8 shallow": {"prompts": {"num_tokens": 8}},
    "prompts 8 deep": {"prompts": {"num_tokens": 8, "deep": True}},
    # deep prompts were best at the top of the lr grid (1e-2): their own, higher lr (encoder.prompts.lr)
    "prompts 8 deep (prompts.lr 3e-2)": {"prompts": {"num_tokens": 8, "deep": True, "lr": 3e-2}},
}


def three_way(n_total: int, n_train: int, n_select: int, n_test: int, seed: int) -> tuple[np.ndarray, ...]:
    order = np.random.default_rng(3000 + seed).permutation(n_total)
    cuts = np.cumsum([n_train, n_select, n_test])
    return order[: cuts[0]], order[cuts[0] : cuts[1]], order[cuts[1] : cuts[2]]


def accuracy(run_dir: Path, encoder: torch.nn.Module, pairs: list) -> float:
    """The run's last checkpoint on in-memory ``pairs``, read and collated as in training."""
    from metaframe.api import get_modality
    from metaframe.engine.data import examples_from_pairs
    from metaframe.engine.loader import Collator, ExampleDataset
    from metaframe.engine.metrics import HeadMetrics
    from metaframe.engine.run import load_run

    model = load_run(run_dir, checkpoint="last", encoder=encoder, device="cpu")
    info = model.run_info  # type: ignore[attr-defined]
    cfg = info.config
    modalities = {m: get_modality(m) for m in cfg.modality_names}
    dataset = ExampleDataset(examples_from_pairs(pairs, cfg, "test"), modalities,
                             {m: c.reader for m, c in cfg.modalities.items()}, info.label_maps,
                             [h.target for h in cfg.heads.values()])
    loader = torch.utils.data.DataLoader(dataset, batch_size=64, collate_fn=Collator(modalities, list(info.label_maps)))
    (name, head), = cfg.heads.items()
    metrics = HeadMetrics(head.resolved_task, len(info.label_maps[head.target]))
    with torch.no_grad():
        for inputs, targets in loader:
            metrics.update(model(inputs)[name], targets[head.target])
    return float(metrics.results()["accuracy"])


def run(task: Any, encoder: Any, tuning: dict[str, Any], train_data: list, select_data: list, test_data: list,
        seed: int, epochs: int, lr: float, root: Path) -> dict[str, Any]:
    from metaframe.engine.trainer import train

    run_dir = Path(tempfile.mkdtemp(dir=root, prefix="run-"))
    config = {
        "modalities": {task.modality: {"tokenizer": task.tokenizer, "reader": task.reader}},
        "encoder": tuning,
        "head": {"kind": "classification"},  # pooling and batch size: the image plugin's recipe
        "data": {},
        "epochs": epochs,
        "optimizer": {"lr": lr, "weight_decay": 0.05},
        "seed": seed,
        "device": "cpu",
        "output_dir": str(run_dir / "run"),
    }
    stamps: list[float] = []
    t0 = time.perf_counter()
    result = train(config, encoder=encoder, train_data=train_data, val_data=select_data, quiet=True,
                   callback=lambda _: stamps.append(time.perf_counter()))
    seconds = time.perf_counter() - t0
    gaps = np.diff(stamps)
    step = float(np.median(gaps)) if len(gaps) else seconds  # median: the validation passes left out
    counts = json.loads((result.run_dir / "parameters.json").read_text())
    test = accuracy(result.run_dir, encoder, test_data)
    shutil.rmtree(run_dir, ignore_errors=True)
    return {"seconds": seconds, "steps": result.steps, "s_per_step": step, "counts": counts,
            "select": result.history[-1]["val_accuracy"], "test": test,
            "curve": [r["val_accuracy"] for r in result.history]}


def pm(values: list[float]) -> str:
    return f"{np.mean(values):.3f} ± {np.std(values, ddof=1):.3f}" if len(values) > 1 else f"{values[0]:.3f}"


def report(records: list[dict[str, Any]]) -> None:
    seeds = sorted({r["seed"] for r in records})
    lrs = sorted({r["lr"] for r in records})
    rows = [row for row in ROWS if any(r["row"] == row for r in records)]
    chosen: dict[str, float] = {}
    say("\nselection accuracy (mean over seeds) per lr: " + ", ".join(f"{lr:g}" for lr in lrs))
    for row in rows:
        means = {lr: float(np.mean([r["select"] for r in records if r["row"] == row and r["lr"] == lr] or [np.nan]))
                 for lr in lrs}
        chosen[row] = max((lr for lr in lrs if not np.isnan(means[lr])), key=lambda lr: means[lr])
        say(f"  {row:<18} " + "  ".join(f"{means[lr]:.3f}" for lr in lrs) + f"  -> lr {chosen[row]:g}")
    say(f"\n| tuning | lr (chosen on the selection split) | test accuracy (mean ± sd over {len(seeds)} seeds) | "
        "vs frozen, paired (ahead/tied/behind) | trainable: total | adapters | prompts | s / step | vs frozen |")
    say("|---|---|---|---|---|---|---|---|---|")

    def at(row: str) -> list[dict[str, Any]]:
        return sorted((r for r in records if r["row"] == row and r["lr"] == chosen[row]), key=lambda r: r["seed"])

    base = at("frozen")
    # time per step: every row's median over all its runs (all lrs); against frozen, the median of the
    # ratios to the frozen run of the same seed and lr (run just before it: the same load, roughly)
    step = {row: float(np.median([r["s_per_step"] for r in records if r["row"] == row])) for row in rows}
    frozen = {(r["seed"], r["lr"]): r["s_per_step"] for r in records if r["row"] == "frozen"}
    ratio = {row: float(np.median([r["s_per_step"] / frozen[r["seed"], r["lr"]] for r in records
                                   if r["row"] == row and (r["seed"], r["lr"]) in frozen])) for row in rows}
    for row in rows:
        hit = at(row)
        diffs = [a["test"] - b["test"] for a, b in zip(hit, base)]
        paired = "—" if row == "frozen" else (
            f"{np.mean(diffs):+.3f} ({sum(d > 1e-9 for d in diffs)}/{sum(abs(d) <= 1e-9 for d in diffs)}/"
            f"{sum(d < -1e-9 for d in diffs)})")
        c = hit[0]["counts"]
        say(f"| {row} | {chosen[row]:g} | {pm([r['test'] for r in hit])} | {paired} | {c['total']:,} | "
            f"{c['adapters']:,} | {c['prompts']:,} | {step[row]:.3f} | {ratio[row]:.2f}x |")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--lrs", default="1e-3,3e-3,1e-2", help="comma-separated learning rates tried for every row")
    p.add_argument("--split", default="200,200,400", help="train,selection,test sample counts")
    p.add_argument("--rows", default=None, help="comma-separated rows (default: all)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (the machine has 2 cores, shared)")
    p.add_argument("--out", default=None, help="per-run results as JSON")
    p.add_argument("--report", nargs="+", default=None, metavar="JSON",
                   help="train nothing: print the table from these --out files together (e.g. another lr)")
    args = p.parse_args(argv)
    if args.report:
        runs = [r for path in args.report for r in json.loads(Path(path).read_text())["runs"]]
        for path in args.report:
            say(f"{path}: {json.loads(Path(path).read_text())['argv']}")
        report(runs)
        return 0
    lrs = [float(x) for x in args.lrs.split(",")]
    n_train, n_select, n_test = (int(x) for x in args.split.split(","))
    if args.rows:
        for row in [r for r in ROWS if r not in args.rows.split(",")]:
            del ROWS[row]
    info = start(args.threads)
    names = [n for n in pretrained_names(say) if n == "whisper-tiny.en"]
    encoders = Encoders(names)
    row_encoder = names[0] if names else "random 4x384 (vit)"
    task = next(t for t in TASKS if t.name == "digits")
    say(f"protocol: {task.data}, {n_train} train / {n_select} selection / {n_test} test; encoder {row_encoder} "
        f"({encoders.describe(row_encoder)}); seeds {list(range(args.seeds))}; lrs {lrs}; {args.epochs} epochs, "
        "the image recipe (batch 8, linear head on cls+max+mean), AdamW wd 0.05, cosine; accuracy of the last "
        "checkpoint; s / step: median time between optimiser steps (validation left out)\n")
    root = Path(tempfile.mkdtemp(prefix="bench-tuning-"))
    records: list[dict[str, Any]] = []
    t_start = time.perf_counter()
    try:
        task, (sources, labels) = load_task(task, root)
        for seed in range(args.seeds):
            tr, se, te = three_way(len(sources), n_train, n_select, n_test, seed)
            data = [[(sources[i], labels[i]) for i in idx] for idx in (tr, se, te)]
            for lr in lrs:
                for row, tuning in ROWS.items():
                    rec = run(task, encoders.get(row_encoder, seed), tuning, *data, seed, args.epochs, lr, root)
                    rec.update(row=row, seed=seed, lr=lr)
                    records.append(rec)
                    say(f"  seed {seed} lr {lr:<6g} {row:<18} select {rec['select']:.3f} test {rec['test']:.3f} "
                        f"{rec['s_per_step']:.3f} s/step ({rec['seconds']:.1f}s, {rec['steps']} steps)")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    wall = time.perf_counter() - t_start
    say(f"\nwall time: {wall:.0f}s ({len(records)} runs)")
    report(records)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"machine": info, "argv": sys.argv, "wall_s": wall, "runs": records},
                                             indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
