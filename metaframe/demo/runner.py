"""Run every installed plugin's demo task around one shared frozen encoder; print a table.

Tasks come from the manifests (field ``demo``), so this module names no modality: whatever
is installed and declares a task is trained through ``metaframe.train`` with the same encoder
instance, and the first two modalities trained go through one joint forward pass. A plugin
whose task cannot be made or trained is one "failed" row; the others still run.
"""

from __future__ import annotations

import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .task import DemoTask

Say = Callable[[str], None]


@dataclass
class _Found:
    """One installed modality with a ``demo`` field: its task, or why there is none."""

    modality: str
    task: DemoTask | None = None
    failed: str | None = None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first}"[:160] if first else type(exc).__name__


def discover_tasks() -> tuple[list[_Found], list[str]]:
    """The demo task of every installed modality that declares one, and the names that declare none."""
    import metaframe
    from metaframe_registry import resolve

    found: list[_Found] = []
    without: list[str] = []
    for name in metaframe.list_modalities():
        manifest = metaframe.get_modality(name).manifest
        if manifest.demo is None:
            without.append(name)
            continue
        where = f"{manifest.demo} ({manifest.distribution})"
        try:
            task = resolve(manifest.demo)()
        except Exception as exc:  # noqa: BLE001 - one plugin's broken demo must not stop the others
            found.append(_Found(name, failed=f"{where} raised {_one_line(exc)}"))
            continue
        if not isinstance(task, DemoTask):
            found.append(_Found(name, failed=f"{where} returned {type(task).__name__}, expected a metaframe.demo.DemoTask"))
        elif task.modality != name:
            found.append(_Found(name, failed=f"{where} returned a task for modality {task.modality!r}, expected {name!r}"))
        else:
            found.append(_Found(name, task=task))
    return found, without


def _split(n: int, seed: int = 0, fraction: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    k = int(n * fraction)
    return order[k:], order[:k]


def _encoders(spec: str | None, preset: str, say: Say) -> list[tuple[str, Any]]:
    """The encoder asked for and, when it is pre-trained, a random one of the same shape beside it."""
    from metaframe.engine.build import build_encoder
    from metaframe.engine.config import encoder_config_from_spec
    from metaframe.pretrained import available_pretrained

    if spec is None:
        spec = "pretrained" if available_pretrained() else "random"
    cfg = encoder_config_from_spec(spec, preset=preset, seed=0)
    encoder = build_encoder(cfg)
    if spec == "random":
        say(f"frozen encoder: preset {preset!r}, RANDOMLY INITIALISED (seed 0): no pre-trained encoder is installed "
            "or asked for (pip install 'metaframe[pretrained]', or --encoder PATH | timm:NAME)")
        return [("random", encoder)]
    control_cfg = cfg.model_copy(update={"options": {**cfg.options, "random_init": True}})
    try:
        control = build_encoder(control_cfg)
    except (TypeError, ValueError) as exc:
        say(f"(no random control: the {cfg.name!r} backend cannot build its shape randomly: {exc})")
        return [("pretrained", encoder)]
    return [("pretrained", encoder), ("random", control)]


def _train_task(task: DemoTask, quick: bool, encoders: list[tuple[str, Any]], n_epochs: int, root: Path,
                models: dict[str, Any], samples: dict[str, list[Any]]) -> dict[str, Any]:
    """Train one task with each encoder; keeps the first encoder's model and a few sources for the joint pass."""
    from metaframe.engine.config import parse_config
    from metaframe.engine.run import load_run
    from metaframe.engine.trainer import train

    sources, labels = task.load(quick)
    if len(sources) != len(labels) or len(sources) < 8:
        raise ValueError(f"load({quick}) returned {len(sources)} sources and {len(labels)} labels; "
                         "expected as many of each, at least 8")
    tr, va = _split(len(sources))
    train_data = [(sources[i], labels[i]) for i in tr]
    val_data = [(sources[i], labels[i]) for i in va]
    val_labels = [labels[i] for i in va]
    chance = max(val_labels.count(c) for c in set(val_labels)) / len(val_labels)
    row: dict[str, Any] = {"data": task.description, "classes": len(set(labels)), "train": len(tr), "val": len(va),
                           "chance": chance}
    name = task.modality
    for label, enc in encoders:
        config = parse_config({
            "modalities": {name: {"tokenizer": task.tokenizer, "reader": task.reader}},
            "head": {"kind": "classification", "options": {"pooling": "cls+max+mean"}},
            "data": {},
            "epochs": n_epochs,
            "batch_size": 32,
            "optimizer": {"lr": 2e-3, "weight_decay": 0.01},
            "schedule": {"warmup_steps": 5},
            "seed": 0,
            "device": "cpu",
            "output_dir": str(root / label / name),
        }, f"demo:{name}")
        t0 = time.perf_counter()
        result = train(config, encoder=enc, train_data=train_data, val_data=val_data, quiet=True)
        row[label] = {"accuracy": result.final.get("val_accuracy"), "seconds": time.perf_counter() - t0,
                      "run_dir": str(result.run_dir)}
        if enc is encoders[0][1]:
            models[name] = load_run(result.run_dir, encoder=enc)
            samples[name] = [sources[i] for i in va[:4]]
    first = row[encoders[0][0]]
    row.update(accuracy=first["accuracy"], seconds=first["seconds"], run_dir=first["run_dir"])
    return row


def run_demo(
    preset: str = "tiny",
    encoder_path: str | None = None,
    quick: bool = False,
    epochs: int | None = None,
    output_dir: str | None = None,
    out: Any = sys.stdout,
    debug: bool = False,
) -> dict[str, Any]:
    """Train every installed plugin's demo task around one shared encoder; print and return the results.

    ``encoder_path`` is an ``--encoder`` spec: ``pretrained`` (default when a packaged one is
    installed), ``random``, a path or ``timm:NAME``. A pre-trained encoder's tasks run again
    with a random encoder of the same shape (same seeds, tokenizers, heads and schedule), so
    the table shows what the pre-training brings. A result row holds ``failed`` (one line)
    when the plugin's task could not be made or trained; ``debug`` also prints its traceback.
    """

    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    found, without = discover_tasks()
    encoders = _encoders(encoder_path, preset, say)
    encoder = encoders[0][1]
    for label, enc in encoders:
        ident = enc.identity.to_dict()
        say(f"{label} frozen encoder: {ident.get('depth')} blocks, width {enc.embed_dim}, "
            f"{ident.get('num_heads')} heads — {ident.get('source') or ident.get('preset')}")
    say("one encoder instance per column is shared by every task below; only tokenizers and heads train\n")
    n_epochs = epochs or (4 if quick else 6)
    root = Path(output_dir) if output_dir else Path(tempfile.mkdtemp(prefix="metaframe-demo-"))
    results: dict[str, Any] = {}
    models: dict[str, Any] = {}
    samples: dict[str, list[Any]] = {}
    tasks: dict[str, DemoTask] = {}
    for item in found:
        if item.task is None:
            results[item.modality] = {"failed": item.failed}
            continue
        try:
            results[item.modality] = _train_task(item.task, quick, encoders, n_epochs, root, models, samples)
            tasks[item.modality] = item.task
        except ImportError as exc:
            results[item.modality] = {"skipped": f"{exc.name or exc} is not installed"}
        except Exception as exc:  # noqa: BLE001 - one failing task is a row, the others still run
            results[item.modality] = {"failed": f"{item.task.description}: {_one_line(exc)}"}
            if debug:
                traceback.print_exc()
            models.pop(item.modality, None)
    _table(results, [label for label, _ in encoders], say)
    if without:
        say(f"installed without a demo task: {', '.join(without)} (a plugin adds one with the manifest field "
            "`demo`, docs/demo.md)")
    if models:
        frozen = sum(p.numel() for p in encoder.parameters())
        trained = ", ".join(f"{n} {sum(p.numel() for p in m.trainable_parameters()):,}" for n, m in models.items())
        say(f"trainable parameters per task: {trained}; frozen encoder parameters (shared, never updated): {frozen:,}")
    if len(models) >= 2:
        names = list(models)[:2]
        try:
            results["joint"] = _joint_pass(names, models, {n: tasks[n] for n in names}, samples, encoder, say)
        except Exception as exc:  # noqa: BLE001 - reported like a task
            results["joint"] = {"failed": _one_line(exc)}
            say(f"\njoint forward pass ({' + '.join(names)}) failed: {_one_line(exc)}")
            if debug:
                traceback.print_exc()
    else:
        say("\njoint pass skipped: fewer than two modalities trained")
    say(f"\nrun directories (config, metrics, checkpoints, curves.png): {root}")
    failed = [name for name, r in results.items() if "failed" in r]
    if failed:
        say(f"{len(failed)} failed: {', '.join(failed)}" + ("" if debug else " (--debug shows the tracebacks)"))
    return results


def _table(results: dict[str, Any], columns: list[str], say: Say) -> None:
    head = " ".join(f"{label.upper():>10}" for label in columns)
    say(f"{'MODALITY':<12} {'DATA':<48} {'CLASSES':>7} {'TRAIN/VAL':>10} {head} {'CHANCE':>7} {'TIME':>6}")
    for name, r in results.items():
        if "skipped" in r or "failed" in r:
            kind = "skipped" if "skipped" in r else "failed"
            say(f"{name:<12} {kind}: {r[kind]}")
            continue
        accs = " ".join(f"{r[label]['accuracy']:>10.3f}" for label in columns)
        total = sum(r[label]["seconds"] for label in columns)
        say(f"{name:<12} {r['data']:<48} {r['classes']:>7} {r['train']:>4}/{r['val']:<5} {accs} "
            f"{r['chance']:>7.3f} {total:>5.0f}s")
    say("accuracy on the validation split; chance = share of its most frequent class"
        + ("; both columns: same seeds, tokenizers, heads and schedule" if len(columns) > 1 else ""))


def _joint_pass(names: list[str], models: dict[str, Any], tasks: dict[str, DemoTask], samples: dict[str, list[Any]],
                encoder: Any, say: Say) -> dict[str, Any]:
    """One MetaModel over two modalities' trained tokenizers and the same encoder: one joint sequence."""
    import torch

    import metaframe

    tokenizers = {n: models[n].tokenizers[n] for n in names}
    head = metaframe.build_head("classification", embed_dim=encoder.embed_dim, num_classes=2)
    joint = metaframe.MetaModel(encoder, tokenizers, {"pair": head}).eval()
    size = min(len(samples[n]) for n in names)  # one batch: as many samples of each modality
    batch = {}
    for n in names:
        mod = metaframe.get_modality(n)
        batch[n] = mod.collate([mod.read(s, **tasks[n].reader) for s in samples[n][:size]])
    with torch.no_grad():
        encoded = joint.encode(batch)
        output = joint.heads["pair"](encoded)
    parts = ", ".join(f"{n} {s.stop - s.start} tokens" for n, s in encoded.segments.items())
    say(f"\njoint forward pass ({' + '.join(names)}, same encoder instance): [CLS] + {parts} "
        f"-> sequence {tuple(encoded.tokens.shape)} -> head output {tuple(output.shape)} (head untrained)")
    shared = all(m.encoder is encoder for m in models.values()) and joint.encoder is encoder
    say(f"every model uses the same encoder object: {shared}")
    return {"sequence": list(encoded.tokens.shape), "output": list(output.shape), "shared_encoder": shared}
