"""``metaframe demo``: several modalities, one shared frozen encoder, accuracy against chance.

Nothing is downloaded: the handwritten digits and wine data ship with scikit-learn; the time
series and audio tones are generated. Each task trains its tokenizer and head through ``metaframe.train``
with the same encoder instance; a joint image + time-series forward pass shows one shared
sequence. Tasks whose plugin is not installed are skipped, and the table says so.
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch


@dataclass
class Task:
    modality: str
    data: str
    load: Callable[[bool], tuple[list[Any], list[Any]]]  # quick -> (sources, labels)
    tokenizer: dict[str, Any]
    reader: dict[str, Any]


def _digits(quick: bool) -> tuple[list[Any], list[Any]]:
    from sklearn.datasets import load_digits

    d = load_digits()
    images = (d.images / 16.0).astype(np.float32)  # [N, 8, 8] in [0, 1]
    n = 400 if quick else len(images)
    return [images[i] for i in range(n)], [int(t) for t in d.target[:n]]


def _wine(quick: bool) -> tuple[list[Any], list[Any]]:
    from sklearn.datasets import load_wine

    d = load_wine()
    rows = [{name: float(v) for name, v in zip(d.feature_names, row)} for row in d.data]
    return rows, [str(d.target_names[t]) for t in d.target]


def _waveforms(quick: bool) -> tuple[list[Any], list[Any]]:
    """Sine, square and sawtooth waves of random frequency, phase, amplitude and noise."""
    rng = np.random.default_rng(0)
    n = 240 if quick else 900
    t = np.arange(64, dtype=np.float32)
    sources, labels = [], []
    for i in range(n):
        kind = i % 3
        freq, phase = rng.uniform(1.5, 4.0) / 64, rng.uniform(0, 2 * np.pi)
        x = 2 * np.pi * freq * t + phase
        wave = [np.sin(x), np.sign(np.sin(x)), 2 * ((x / (2 * np.pi)) % 1.0) - 1][kind]
        series = rng.uniform(0.5, 3.0) * wave + rng.normal(0, 0.3, size=t.shape) + rng.normal(0, 1)
        sources.append(series.astype(np.float32)[:, None])  # [T, 1]
        labels.append(["sine", "square", "sawtooth"][kind])
    return sources, labels


def _tones(quick: bool) -> tuple[list[Any], list[Any]]:
    """0.4 s clips at 16 kHz: a low, middle or high tone of random pitch and level, in noise."""
    rng = np.random.default_rng(0)
    n = 150 if quick else 450
    rate = 16000
    t = np.arange(int(0.4 * rate), dtype=np.float32) / rate
    bands = {"low": (200, 450), "middle": (900, 1400), "high": (2800, 4000)}
    sources, labels = [], []
    for i in range(n):
        name = list(bands)[i % 3]
        pitch = rng.uniform(*bands[name])
        wave = rng.uniform(0.1, 0.5) * np.sin(2 * np.pi * pitch * t + rng.uniform(0, 6.28))
        wave = wave + rng.normal(0, 0.05, size=t.shape)
        sources.append((wave.astype(np.float32), rate))  # (array, sample rate): the audio reader's in-memory form
        labels.append(name)
    return sources, labels


TASKS = [
    Task("image", "sklearn handwritten digits (8x8, real)", _digits,
         {"in_channels": 1, "patch_size": 2, "image_size": 8}, {"size": 8, "channels": 1, "normalize": "none"}),
    Task("tabular", "sklearn wine (13 measurements, real)", _wine, {}, {}),
    Task("time_series", "generated waveforms (sine / square / sawtooth)", _waveforms,
         {"mode": "patch", "in_channels": 1, "patch_len": 8, "stride": 8}, {}),
    Task("audio", "generated tones (low / middle / high pitch)", _tones,
         {"num_mel_bins": 32, "target_length": 40, "patch_size": 16, "patch_stride": 16, "freq_mask": 0,
          "time_mask": 0}, {}),
]


def _split(n: int, seed: int = 0, fraction: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    k = int(n * fraction)
    return order[k:], order[:k]


def _encoders(spec: str | None, preset: str, say: Callable[[str], None]) -> list[tuple[str, torch.nn.Module]]:
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


def run_demo(
    preset: str = "tiny",
    encoder_path: str | None = None,
    quick: bool = False,
    epochs: int | None = None,
    output_dir: str | None = None,
    out: Any = sys.stdout,
) -> dict[str, Any]:
    """Train every available task around one shared encoder; print and return the results.

    ``encoder_path`` is an ``--encoder`` spec: ``pretrained`` (default when a packaged one is
    installed), ``random``, a path or ``timm:NAME``. A pre-trained encoder's tasks run again
    with a random encoder of the same shape (same seeds, tokenizers, heads and schedule), so
    the table shows what the pre-training brings.
    """
    import metaframe
    from metaframe.engine.config import parse_config
    from metaframe.engine.trainer import train

    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    installed = set(metaframe.list_modalities())
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
    for task in TASKS:
        if task.modality not in installed:
            results[task.modality] = {"skipped": f"plugin for {task.modality!r} is not installed"}
            continue
        try:
            sources, labels = task.load(quick)
        except ImportError as exc:
            results[task.modality] = {"skipped": f"{exc.name or exc} is not installed (pip install 'metaframe[demo]')"}
            continue
        tr, va = _split(len(sources))
        train_data = [(sources[i], labels[i]) for i in tr]
        val_data = [(sources[i], labels[i]) for i in va]
        val_labels = [labels[i] for i in va]
        chance = max(val_labels.count(c) for c in set(val_labels)) / len(val_labels)
        row: dict[str, Any] = {"data": task.data, "classes": len(set(labels)), "train": len(tr), "val": len(va),
                               "chance": chance}
        for label, enc in encoders:
            config = parse_config({
                "modalities": {task.modality: {"tokenizer": task.tokenizer, "reader": task.reader}},
                "head": {"kind": "classification", "options": {"pooling": "cls+max+mean"}},
                "data": {},
                "epochs": n_epochs,
                "batch_size": 32,
                "optimizer": {"lr": 2e-3, "weight_decay": 0.01},
                "schedule": {"warmup_steps": 5},
                "seed": 0,
                "device": "cpu",
                "output_dir": str(root / label / task.modality),
            }, f"demo:{task.modality}")
            t0 = time.perf_counter()
            result = train(config, encoder=enc, train_data=train_data, val_data=val_data, quiet=True)
            row[label] = {"accuracy": result.final.get("val_accuracy"), "seconds": time.perf_counter() - t0,
                          "run_dir": str(result.run_dir)}
            if enc is encoder:
                from metaframe.engine.run import load_run

                models[task.modality] = load_run(result.run_dir, encoder=encoder)
        first = row[encoders[0][0]]
        row.update(accuracy=first["accuracy"], seconds=first["seconds"], run_dir=first["run_dir"])
        results[task.modality] = row
    labels_shown = [label for label, _ in encoders]
    head = " ".join(f"{label.upper():>10}" for label in labels_shown)
    say(f"{'MODALITY':<12} {'DATA':<48} {'CLASSES':>7} {'TRAIN/VAL':>10} {head} {'CHANCE':>7} {'TIME':>6}")
    for name, r in results.items():
        if "skipped" in r:
            say(f"{name:<12} skipped: {r['skipped']}")
            continue
        accs = " ".join(f"{r[label]['accuracy']:>10.3f}" for label in labels_shown)
        total = sum(r[label]["seconds"] for label in labels_shown)
        say(f"{name:<12} {r['data']:<48} {r['classes']:>7} {r['train']:>4}/{r['val']:<5} {accs} "
            f"{r['chance']:>7.3f} {total:>5.0f}s")
    say("accuracy on the validation split; chance = share of its most frequent class"
        + ("; both columns: same seeds, tokenizers, heads and schedule" if len(encoders) > 1 else ""))
    if models:
        frozen = sum(p.numel() for p in encoder.parameters())
        trained = ", ".join(f"{n} {sum(p.numel() for p in m.trainable_parameters()):,}" for n, m in models.items())
        say(f"trainable parameters per task: {trained}; frozen encoder parameters (shared, never updated): {frozen:,}")
    trained = [m for m in ("image", "time_series", "tabular") if m in models]
    if len(trained) >= 2:
        results["joint"] = _joint_pass(trained[:2], models, encoder, say)
    else:
        say("\njoint pass skipped: fewer than two modalities trained")
    say(f"\nrun directories (config, metrics, checkpoints, curves.png): {root}")
    return results


def _joint_pass(names: list[str], models: dict[str, Any], encoder: torch.nn.Module, say: Callable[[str], None]) -> dict[str, Any]:
    """One MetaModel over two modalities' trained tokenizers and the same encoder: one joint sequence."""
    import metaframe

    tokenizers = {n: models[n].tokenizers[n] for n in names}
    head = metaframe.build_head("classification", embed_dim=encoder.embed_dim, num_classes=2)
    joint = metaframe.MetaModel(encoder, tokenizers, {"pair": head}).eval()
    batch = {}
    for n in names:
        task = next(t for t in TASKS if t.modality == n)
        sources, _ = task.load(True)
        mod = metaframe.get_modality(n)
        batch[n] = mod.collate([mod.read(s, **task.reader) for s in sources[:4]])
    with torch.no_grad():
        encoded = joint.encode(batch)
        out = joint.heads["pair"](encoded)
    parts = ", ".join(f"{n} {s.stop - s.start} tokens" for n, s in encoded.segments.items())
    say(f"\njoint forward pass ({' + '.join(names)}, same encoder instance): [CLS] + {parts} "
        f"-> sequence {tuple(encoded.tokens.shape)} -> head output {tuple(out.shape)} (head untrained)")
    shared = all(m.encoder is encoder for m in models.values()) and joint.encoder is encoder
    say(f"every model uses the same encoder object: {shared}")
    return {"sequence": list(encoded.tokens.shape), "output": list(out.shape), "shared_encoder": shared}
