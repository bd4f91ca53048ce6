"""Does a PRE-TRAINED frozen encoder help? Pre-trained vs random (same shape) vs no encoder.

Offline: the data ship with scikit-learn / networkx or are generated here; the pre-trained
encoders ship inside packages (``metaframe.build_encoder("whisper-tiny.en")``, and
``all-minilm-l6-v2`` when its backend is registered). For every task and seed three kinds
of row train the same tokenizer and head with the same schedule, lr and seed:

- ``NAME``: the pre-trained frozen encoder;
- ``NAME random``: the same name with ``random_init=True, seed=SEED`` (same shape, random);
- ``none``: ``build_encoder("none", embed_dim=384)``, tokens straight to the head.

The seed changes the train/val split, the low-label subset and the training seed. Two
regimes: *full* (the task's training split, ``--epochs`` epochs, validation every epoch:
accuracy after epochs 1, 3 and the last, and the mean validation accuracy over all epochs,
the area under the curve); *low-label* (5 and 20 labelled training examples per class, the
same validation split, a fixed ``--low-steps`` optimiser steps at batch 16: the small set is
repeated within an epoch so that a validation pass comes every ~20 steps, not every step).

    .venv/bin/python benchmarks/bench_pretrained.py --quick          # smoke: 1 seed, 3 tasks
    .venv/bin/python benchmarks/bench_pretrained.py --out runs/bench_pretrained.json
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from machine import print_machine

WIDTH = 384  # whisper tiny.en and all-MiniLM-L6-v2 are both 384 wide
PRETRAINED = ("whisper-tiny.en", "all-minilm-l6-v2")
Samples = tuple[list[Any], list[Any]]


@dataclass
class Task:
    name: str
    modality: str
    data: str
    load: Callable[[Path], Samples]  # scratch dir -> (sources, labels), fixed (seed 0) data
    n_train: int
    n_val: int
    tokenizer: dict[str, Any] = field(default_factory=dict)
    reader: dict[str, Any] = field(default_factory=dict)
    quick: bool = False


# -- data -------------------------------------------------------------------------------------
def _digits(_: Path) -> Samples:
    from sklearn.datasets import load_digits

    d = load_digits()
    images = (d.images / 16.0).astype(np.float32)
    return [images[i] for i in range(len(images))], [int(t) for t in d.target]


def _sk_table(loader: str) -> Callable[[Path], Samples]:
    def load(_: Path) -> Samples:
        import sklearn.datasets

        d = getattr(sklearn.datasets, loader)()
        names = [str(n) for n in d.feature_names]
        rows = [{n: float(v) for n, v in zip(names, row)} for row in d.data]
        return rows, [str(d.target_names[t]) for t in d.target]

    return load


def _graphs(_: Path) -> Samples:
    """Erdős–Rényi vs Barabási–Albert vs Watts–Strogatz graphs of 10-16 nodes, mean degree ~4."""
    import networkx as nx

    rng = np.random.default_rng(0)
    sources, labels = [], []
    for i in range(480):
        kind = ["erdos_renyi", "barabasi_albert", "watts_strogatz"][i % 3]
        n, s = int(rng.integers(10, 17)), int(rng.integers(0, 2**31))
        if kind == "erdos_renyi":
            g = nx.gnp_random_graph(n, 4.0 / (n - 1), seed=s)
        elif kind == "barabasi_albert":
            g = nx.barabasi_albert_graph(n, 2, seed=s)
        else:
            g = nx.watts_strogatz_graph(n, 4, float(rng.uniform(0.1, 0.5)), seed=s)
        sources.append(g)
        labels.append(kind)
    return sources, labels


def _surface(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "sphere":
        p = rng.normal(size=(n, 3))
        return p / np.linalg.norm(p, axis=1, keepdims=True)
    if kind == "cube":
        p = rng.uniform(-1, 1, size=(n, 3))
        face = rng.integers(0, 3, size=n)
        p[np.arange(n), face] = rng.choice([-1.0, 1.0], size=n)
        return p
    theta, z = rng.uniform(0, 2 * np.pi, n), rng.uniform(-1, 1, n)
    r = np.ones(n) if kind == "cylinder" else (1 - z) / 2  # cone: apex at z = 1
    return np.stack([r * np.cos(theta), r * np.sin(theta), z], 1)


def _clouds(_: Path) -> Samples:
    """Sphere / cube / cylinder / cone surfaces: 128 points, random stretch, rotation and noise."""
    from scipy.spatial.transform import Rotation

    rng = np.random.default_rng(0)
    kinds = ["sphere", "cube", "cylinder", "cone"]
    sources, labels = [], []
    for i in range(480):
        kind = kinds[i % 4]
        p = _surface(kind, 128, rng) * rng.uniform(0.6, 1.4, size=3)
        p = Rotation.random(random_state=int(rng.integers(0, 2**31))).apply(p)
        p = p + rng.normal(0, 0.12, size=p.shape)
        sources.append(p.astype(np.float32))
        labels.append(kind)
    return sources, labels


def _waveforms(_: Path) -> Samples:
    """Sine / square / sawtooth / triangle, 64 steps, random frequency, level, offset, heavy noise."""
    rng = np.random.default_rng(0)
    t = np.arange(64, dtype=np.float32)
    names = ["sine", "square", "sawtooth", "triangle"]
    sources, labels = [], []
    for i in range(480):
        kind = i % 4
        x = 2 * np.pi * rng.uniform(1.5, 4.0) / 64 * t + rng.uniform(0, 2 * np.pi)
        frac = (x / (2 * np.pi)) % 1.0
        wave = [np.sin(x), np.sign(np.sin(x)), 2 * frac - 1, 4 * np.abs(frac - 0.5) - 1][kind]
        level = rng.uniform(0.5, 2.0)
        series = level * wave + rng.normal(0, 0.6 * level, size=t.shape) + rng.normal(0, 1)
        sources.append(series.astype(np.float32)[:, None])
        labels.append(names[kind])
    return sources, labels


def _motions(scratch: Path) -> Samples:
    """IMU [6 channels, 64 steps]: the waveforms on three accelerometer axes (random gains), gyro noise."""
    series, labels = _waveforms(scratch)
    rng = np.random.default_rng(1)
    sources = []
    for x in series:
        acc = x[:, 0][None, :] * rng.uniform(0.3, 1.0, size=(3, 1)) + rng.normal(0, 0.3, size=(3, x.shape[0]))
        gyro = rng.normal(0, 0.5, size=(3, x.shape[0]))
        sources.append(np.concatenate([acc, gyro]).astype(np.float32))
    return sources, labels


def _sweeps(_: Path) -> Samples:
    """0.4 s at 16 kHz in noise: a rising, falling or steady tone, or a warble (vibrato)."""
    rng = np.random.default_rng(0)
    rate = 16000
    t = np.arange(int(0.4 * rate), dtype=np.float64) / rate
    names = ["rising", "falling", "steady", "warble"]
    sources, labels = [], []
    for i in range(400):
        kind = i % 4
        f0 = rng.uniform(400, 3000)
        span = rng.uniform(0.25, 0.6) * f0  # how far a sweep moves
        if kind == 0:
            freq = f0 - span / 2 + span * t / t[-1]
        elif kind == 1:
            freq = f0 + span / 2 - span * t / t[-1]
        elif kind == 2:
            freq = np.full_like(t, f0)
        else:
            freq = f0 + 0.3 * span * np.sin(2 * np.pi * rng.uniform(4, 9) * t)
        phase = 2 * np.pi * np.cumsum(freq) / rate
        wave = rng.uniform(0.05, 0.3) * np.sin(phase + rng.uniform(0, 6.28)) + rng.normal(0, 0.1, size=t.shape)
        sources.append((wave.astype(np.float32), rate))
        labels.append(names[kind])
    return sources, labels


POS = ["good", "great", "fine", "lovely", "excellent", "pleasant", "superb", "nice"]
NEG = ["bad", "awful", "poor", "terrible", "dreadful", "boring", "weak", "dull"]
SUBJECTS = ["the film", "the food", "the service", "the hotel", "the book", "the show", "our trip", "the room"]
FILLER = ["really", "quite", "very", "honestly", "rather", "so", "truly", "somewhat"]
ENDINGS = ["today", "overall", "again", "this time", "as usual", "at first", "in the end", "for once"]


def _sentences(scratch: Path) -> Samples:
    """Polarity with negation: "the food was not really good today" is negative (XOR of two words)."""
    rng = np.random.default_rng(0)
    words = sorted({w for group in (POS, NEG, SUBJECTS, FILLER, ENDINGS) for p in group for w in p.split()}
                   | {"was", "is", "not", "never", "seemed", "felt"})
    (scratch / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *words]) + "\n", encoding="utf-8")
    sources, labels = [], []
    for i in range(480):
        positive, negated = bool(i % 2), bool((i // 2) % 2)
        parts = [rng.choice(SUBJECTS), rng.choice(["was", "is", "seemed", "felt"])]
        if negated:
            parts.append(rng.choice(["not", "never"]))
        if rng.random() < 0.6:
            parts.append(rng.choice(FILLER))
        parts.append(rng.choice(POS if positive else NEG))
        if rng.random() < 0.6:
            parts.append(rng.choice(ENDINGS))
        sources.append(" ".join(parts))
        labels.append("positive" if positive != negated else "negative")
    return sources, labels


TASKS = [
    Task("digits", "image", "sklearn digits 8x8 (real)", _digits, 200, 200,
         {"in_channels": 1, "patch_size": 2, "image_size": 8}, {"size": 8, "channels": 1, "normalize": "none"},
         quick=True),
    Task("digits_ir", "infrared", "sklearn digits 8x8 as one-channel infrared frames (real)", _digits, 200, 200,
         {"in_channels": 1, "patch_size": 2, "image_size": 8}, {"size": 8, "channels": 1, "normalize": "none"}),
    Task("digits_xray", "xray", "sklearn digits 8x8 as one-channel radiographs (real)", _digits, 200, 200,
         {"in_channels": 1, "patch_size": 2, "image_size": 8}, {"size": 8, "channels": 1, "normalize": "none"}),
    Task("wine", "tabular", "sklearn wine, 13 features (real)", _sk_table("load_wine"), 100, 78, quick=True),
    Task("breast_cancer", "tabular", "sklearn breast cancer, 30 features (real)", _sk_table("load_breast_cancer"),
         200, 200),
    Task("graphs", "graph", "networkx ER / BA / WS graphs, 10-16 nodes", _graphs, 200, 200,
         {"identifiers": "laplacian", "id_dim": 16}, {"laplacian_k": 16}),
    Task("shapes", "point_cloud", "sphere / cube / cylinder / cone, 128 pts, noisy", _clouds, 200, 200,
         {"num_centers": 8, "k": 16}, {"num_points": 128, "sampling": "first"}),
    Task("waveforms", "time_series", "4 waveforms, 64 steps, heavy noise", _waveforms, 200, 200,
         {"mode": "patch", "in_channels": 1, "patch_len": 8, "stride": 8}, quick=True),
    Task("motions", "imu", "4 waveforms on 3 accelerometer axes + gyro noise, 64 steps", _motions, 200, 200,
         {"in_channels": 6, "patch_len": 8, "projection": "channel"}, {"rate": 50.0}),
    Task("sweeps", "audio", "rising / falling / steady / warble tones in noise", _sweeps, 200, 200,
         {"num_mel_bins": 32, "target_length": 40, "patch_size": 8, "patch_stride": 8, "freq_mask": 0,
          "time_mask": 0}),
    Task("negation", "text", "generated sentences, polarity with negation", _sentences, 200, 200,
         {"context_length": 16}, {"context_length": 16}),
]


# -- encoders ---------------------------------------------------------------------------------
def pretrained_names(say: Callable[[str], None]) -> list[str]:
    import metaframe

    registered = set(metaframe.list_encoders())
    names = []
    for name in PRETRAINED:
        if name not in registered:
            say(f"note: encoder {name!r} is not registered here (metaframe.list_encoders()): no rows for it")
            continue
        try:
            metaframe.build_encoder(name)
        except Exception as exc:  # noqa: BLE001 - any failure means: no rows, said why
            say(f"note: encoder {name!r} is registered but does not build: {type(exc).__name__}: {str(exc)[:200]}")
            continue
        names.append(name)
    return names


class Encoders:
    """Row name -> encoder for a seed; pre-trained ones built once, random ones once per seed."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.cache: dict[tuple[str, int], torch.nn.Module] = {}

    def rows(self) -> list[str]:
        if not self.names:  # no pre-trained encoder builds: still compare random (whisper's shape) with none
            return ["random 4x384 (vit)", "none"]
        return [r for n in self.names for r in (n, f"{n} random")] + ["none"]

    def get(self, row: str, seed: int) -> torch.nn.Module:
        import metaframe

        key = (row, 0 if row in self.names or row == "none" else seed)
        if key not in self.cache:
            if row == "none":
                enc = metaframe.build_encoder("none", embed_dim=WIDTH)
            elif row.endswith(" random"):
                enc = metaframe.build_encoder(row[: -len(" random")], random_init=True, seed=seed)
            elif row == "random 4x384 (vit)":
                enc = metaframe.build_encoder("vit", embed_dim=WIDTH, depth=4, num_heads=6, seed=seed)
            else:
                enc = metaframe.build_encoder(row)
            assert enc.embed_dim == WIDTH, (row, enc.embed_dim)
            self.cache[key] = enc
        return self.cache[key]

    def describe(self, row: str) -> str:
        enc = self.get(row, 0)
        ident = enc.identity.to_dict()
        return (f"{ident.get('depth')} blocks x {enc.embed_dim}, {ident.get('num_heads')} heads, "
                f"{sum(p.numel() for p in enc.parameters()):,} frozen parameters — {ident.get('source') or ident.get('preset')}")


# -- runs -------------------------------------------------------------------------------------
def split(n_total: int, task: Task, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(1000 + seed).permutation(n_total)
    return order[: task.n_train], order[task.n_train : task.n_train + task.n_val]


def few_per_class(train: np.ndarray, labels: list[Any], k: int, seed: int) -> np.ndarray:
    order = np.random.default_rng(2000 + seed).permutation(train)
    chosen: dict[Any, list[int]] = {}
    for i in order:
        group = chosen.setdefault(labels[i], [])
        if len(group) < k:
            group.append(int(i))
    return np.array(sorted(i for g in chosen.values() for i in g))


def load_task(task: Task, root: Path) -> tuple[Task, Samples]:
    """The task's samples, loaded in a scratch folder under ``root``, and the task with the
    options that point into it (the text task's vocabulary)."""
    scratch = Path(tempfile.mkdtemp(dir=root, prefix=f"{task.name}-"))
    samples = task.load(scratch)
    if task.modality == "text":
        vocab = str(scratch / "vocab.txt")
        task = replace(task, tokenizer={**task.tokenizer, "vocab": vocab}, reader={**task.reader, "vocab": vocab})
    return task, samples


def train_once(task: Task, encoder: torch.nn.Module, train_data: list, val_data: list, seed: int, root: Path,
               epochs: int, max_steps: int | None, batch_size: int | None, lr: float | None) -> dict[str, Any]:
    from metaframe.engine.trainer import train

    run_dir = Path(tempfile.mkdtemp(dir=root, prefix="run-"))
    config = {
        "modalities": {task.modality: {"tokenizer": task.tokenizer, "reader": task.reader}},
        "head": {"kind": "classification"},
        "data": {},
        "epochs": epochs,
        "schedule": {"warmup_steps": 5},
        "seed": seed,
        "device": "cpu",
        "output_dir": str(run_dir / "run"),
    }
    if lr is not None:  # else: lr, head pooling and batch size from the plugin's recipe (--recipes)
        config["optimizer"] = {"lr": lr, "weight_decay": 0.01}
        config["head"]["options"] = {"pooling": "cls+max+mean"}
    else:
        config["optimizer"] = {"weight_decay": 0.01}
    if batch_size is not None:
        config["batch_size"] = batch_size
    if max_steps:
        config["max_steps"] = max_steps
    t0 = time.perf_counter()
    result = train(config, encoder=encoder, train_data=train_data, val_data=val_data, quiet=True)
    seconds = time.perf_counter() - t0
    shutil.rmtree(run_dir, ignore_errors=True)
    curve = [{"epoch": r["epoch"], "step": r["step"], "val_accuracy": r["val_accuracy"]} for r in result.history]
    return {"seconds": seconds, "steps": result.steps, "curve": curve,
            "final": curve[-1]["val_accuracy"] if curve else None}


def run_task(task: Task, encoders: Encoders, rows: list[str], seeds: list[int], args: argparse.Namespace,
             root: Path, say: Callable[[str], None]) -> list[dict[str, Any]]:
    task, (sources, labels) = load_task(task, root)
    records = []
    for seed in seeds:
        tr, va = split(len(sources), task, seed)
        val_data = [(sources[i], labels[i]) for i in va]
        regimes: list[tuple[str, np.ndarray]] = [("full", tr)]
        regimes += [(f"{k}/class", few_per_class(tr, labels, k, seed)) for k in args.low_label]
        for regime, idx in regimes:
            train_data = [(sources[i], labels[i]) for i in idx]
            if regime == "full":
                epochs, max_steps, batch = args.epochs, None, None if args.recipes else 32
            else:  # the small set repeated to fill one epoch of low_steps batches: one validation, at the end
                train_data = train_data * math.ceil(args.low_steps * 16 / len(train_data))
                epochs, max_steps, batch = 1, args.low_steps, 16
            for row in rows:
                rec = train_once(task, encoders.get(row, seed), train_data, val_data, seed, root, epochs, max_steps,
                                 batch, None if args.recipes else args.lr)
                rec.update(task=task.name, modality=task.modality, row=row, seed=seed, regime=regime,
                           n_train=len(idx), n_val=len(va), classes=len(set(labels)))
                records.append(rec)
                say(f"  {task.name:<14} seed {seed} {regime:<8} {row:<26} acc {rec['final']:.3f} "
                    f"({rec['steps']} steps, {rec['seconds']:.1f}s)")
    val_labels = [labels[i] for i in split(len(sources), task, seeds[0])[1]]
    for rec in records:
        rec["chance"] = max(val_labels.count(c) for c in set(val_labels)) / len(val_labels)
    return records


# -- report -----------------------------------------------------------------------------------
def metrics(rec: dict[str, Any], budgets: list[int]) -> dict[str, float]:
    curve = [c["val_accuracy"] for c in rec["curve"]]
    out = {f"ep{b}": curve[b - 1] for b in budgets if b <= len(curve)}
    out["auc"] = float(np.mean(curve))
    return out


def pm(values: list[float], digits: int = 3) -> str:
    if not values:
        return "—"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{np.mean(values):.{digits}f} ± {np.std(values, ddof=1):.{digits}f}"


def report(records: list[dict[str, Any]], rows: list[str], budgets: list[int], low: list[int], say: Callable[[str], None]) -> None:
    tasks = list(dict.fromkeys(r["task"] for r in records))
    cols = [f"ep {b}" for b in budgets] + ["AUC (mean over epochs)"] + [f"{k}/class" for k in low] + ["s / full run"]
    say("| task (modality, train/val, chance) | encoder | " + " | ".join(cols) + " |")
    say("|---|---|" + "---|" * len(cols))
    for t in tasks:
        for row in rows:
            full = [r for r in records if r["task"] == t and r["row"] == row and r["regime"] == "full"]
            if not full:
                continue
            ms = [metrics(r, budgets) for r in full]
            cells = [pm([m[f"ep{b}"] for m in ms if f"ep{b}" in m]) for b in budgets] + [pm([m["auc"] for m in ms])]
            for k in low:
                cells.append(pm([r["final"] for r in records if r["task"] == t and r["row"] == row
                                 and r["regime"] == f"{k}/class"]))
            cells.append(f"{np.mean([r['seconds'] for r in full]):.1f}")
            f0 = full[0]
            label = f"{t} ({f0['modality']}, {f0['n_train']}/{f0['n_val']}, {f0['chance']:.2f})" if row == rows[0] else ""
            say(f"| {label} | {row} | " + " | ".join(cells) + " |")
    pairs = [(a, b) for a in rows if a != "none" and not a.endswith(" random")
             for b in (f"{a} random", "none") if b in rows] or [(rows[0], "none")]
    pairs += [(a, "none") for a in rows if a.endswith(" random")]
    pairs = [(a, b) for a, b in pairs if a != b and a in rows and b in rows]
    seeds = sorted({r["seed"] for r in records})
    for a, b in pairs:
        say(f"\nPaired difference `{a}` − `{b}` (same task, seed and regime): mean ± std, and seeds where "
            f"`{a}` is ahead / tied / behind (of {len(seeds)})\n")
        say("| task | " + " | ".join(cols[:-1]) + " |")
        say("|---|" + "---|" * (len(cols) - 1))
        for t in tasks:
            cells = []
            keys = [f"ep{b_}" for b_ in budgets] + ["auc"] + [f"{k}/class" for k in low]
            for key in keys:
                diffs = []
                for s in seeds:
                    def value(row: str) -> float | None:
                        regime = key if key.endswith("/class") else "full"
                        hit = [r for r in records if r["task"] == t and r["row"] == row and r["seed"] == s
                               and r["regime"] == regime]
                        if not hit:
                            return None
                        return hit[0]["final"] if key.endswith("/class") else metrics(hit[0], budgets).get(key)
                    va, vb = value(a), value(b)
                    if va is not None and vb is not None:
                        diffs.append(va - vb)
                if not diffs:
                    cells.append("—")
                    continue
                up = sum(d > 1e-9 for d in diffs)
                down = sum(d < -1e-9 for d in diffs)
                cells.append(f"{np.mean(diffs):+.3f} ± {np.std(diffs, ddof=1) if len(diffs) > 1 else 0:.3f} "
                             f"({up}/{len(diffs) - up - down}/{down})")
            say(f"| {t} | " + " | ".join(cells) + " |")


def say(text: str = "") -> None:
    print(text, flush=True)


def start(threads: int) -> dict[str, Any]:
    """Set torch's thread count, silence warnings, print and return the machine."""
    import warnings

    torch.set_num_threads(threads)
    warnings.filterwarnings("ignore")
    return print_machine()  # after set_num_threads: the line shows the threads this run uses


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smoke run: 1 seed, the quick tasks, 4 epochs, 20 low-label steps")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--low-label", type=int, nargs="*", default=[5, 20], help="labelled training examples per class")
    p.add_argument("--low-steps", type=int, default=60, help="optimiser steps (batch 16) in the low-label regime")
    p.add_argument("--tasks", default=None, help="comma-separated task names (default: all; --quick: the quick ones)")
    p.add_argument("--threads", type=int, default=2, help="torch threads (the machine has 2 cores, shared)")
    p.add_argument("--lr", type=float, default=2e-3, help="AdamW learning rate (every row)")
    p.add_argument("--rows", default=None, help="comma-separated rows to run (default: all)")
    p.add_argument("--recipes", action="store_true",
                   help="lr, head pooling and (full regime) batch size from each plugin's recipe instead of --lr, "
                   "cls+max+mean and batch 32")
    p.add_argument("--out", default=None, help="write per-run results (curves, times) to this JSON file")
    args = p.parse_args(argv)
    if args.quick:
        args.seeds, args.epochs, args.low_steps = 1, 4, 20
    info = start(args.threads)
    import metaframe

    installed = set(metaframe.list_modalities())
    wanted = args.tasks.split(",") if args.tasks else None
    tasks = [t for t in TASKS if (t.name in wanted if wanted else (t.quick or not args.quick))]
    for t in tasks:
        if t.modality not in installed:
            say(f"note: task {t.name} skipped: plugin {t.modality!r} is not installed")
    tasks = [t for t in tasks if t.modality in installed]
    encoders = Encoders(pretrained_names(say))
    rows = encoders.rows()
    if args.rows:
        rows = [r for r in rows if r in args.rows.split(",")]
    for row in rows:
        say(f"row {row!r}: {encoders.describe(row)}")
    seeds = list(range(args.seeds))
    budgets = sorted({b for b in (1, 3, args.epochs) if b <= args.epochs})
    how = ("lr, pooling and full-regime batch size from each plugin's recipe" if args.recipes
           else f"lr {args.lr:g}, head: linear on cls+max+mean, full-regime batch 32")
    say(f"protocol: seeds {seeds}; full = {args.epochs} epochs, validation each epoch; low-label = "
        f"{args.low_label} per class, {args.low_steps} steps at batch 16, validated at the end; AdamW wd 0.01, cosine, "
        f"warmup 5; {how}\n")
    root = Path(tempfile.mkdtemp(prefix="bench-pretrained-"))
    records: list[dict[str, Any]] = []
    t_start = time.perf_counter()
    try:
        for task in tasks:
            t0 = time.perf_counter()
            records += run_task(task, encoders, rows, seeds, args, root, say)
            say(f"{task.name}: {time.perf_counter() - t0:.0f}s")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    wall = time.perf_counter() - t_start
    say(f"\nwall time: {wall:.0f}s ({len(records)} runs)\n")
    report(records, rows, budgets, args.low_label, say)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({
            "machine": info, "argv": sys.argv, "rows": rows, "seeds": seeds, "budgets": budgets,
            "epochs": args.epochs, "low_label": args.low_label, "low_steps": args.low_steps,
            "wall_s": wall, "runs": records,
        }, indent=1, default=str) + "\n")
        say(f"\nper-run results: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
