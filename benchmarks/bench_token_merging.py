"""Token merging (ToMe) in the frozen encoder: encoder time and FLOPs vs r, accuracy vs r.

Part 1, speed: the encoder on one sequence of a modality's length (video 16x224 frames =
1,568 tokens, audio 1,212, image 196) plus [CLS], random tokens (the cost does not depend on
their content), batch 1, best of ``--repeat``; FLOPs counted analytically from the tokens
entering each block (``metaframe.merging.encoder_flops``).
Part 2, accuracy: two demo tasks trained here without merging (the short case: digits, 2x2
patches = 16 tokens, on the random ``tiny`` encoder; generated tones with 4x4 mel patches = 80
tokens on the pre-trained whisper-tiny.en when installed), then evaluated on their validation
split with merging switched on (``load_run(..., token_merging=...)``), no retraining.

Run: ``python benchmarks/bench_token_merging.py`` (about 5 min on a 2-core machine).
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
from metaframe.merging import TokenMerging, encoder_flops, merged_token_counts
from timing import best_time

LENGTHS = {"video (16 frames, 224 px)": 1568, "audio (12 s fbank)": 1212, "image (224 px)": 196}


def _merging(spec: str) -> TokenMerging:
    return TokenMerging(ratio=float(spec)) if "." in spec else TokenMerging(r=int(spec))


def bench_speed(args: argparse.Namespace) -> None:
    encoder = metaframe.FrozenEncoder.from_preset(args.preset, seed=0)
    d, depth, mlp = encoder.embed_dim, encoder.depth, encoder.mlp_ratio
    print(f"\nspeed: encoder {args.preset} ({depth} blocks, width {d}), batch 1, best of {args.repeat}")
    print(f"{'modality':<28}{'merging':>11}{'tokens out':>11}{'GFLOPs':>9}{'FLOPs x':>9}{'ms':>9}{'speed-up':>9}")
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
            print(f"{label:<28}{merging.describe():>11}{out:>11}{flops / 1e9:>9.1f}{base_flops / flops:>9.2f}"
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


def bench_accuracy(args: argparse.Namespace) -> None:
    from metaframe.demo.runner import _split, discover_tasks
    from metaframe.engine.config import parse_config
    from metaframe.engine.run import load_run
    from metaframe.engine.trainer import train
    from metaframe.pretrained import available_pretrained

    tasks = {f.modality: f.task for f in discover_tasks()[0] if f.task is not None}
    plans = [("image", {}, "random tiny", metaframe.FrozenEncoder.from_preset("tiny", seed=0))]
    if "whisper-tiny.en" in available_pretrained():
        from metaframe.pretrained import build_whisper_tiny_en

        plans.append(("audio", {"patch_size": 4, "patch_stride": 4}, "whisper-tiny.en", build_whisper_tiny_en()))
    for name, tokenizer_change, enc_label, encoder in plans:
        task = tasks[name]
        sources, labels = task.load(True)
        tr, va = _split(len(sources))
        tokenizer = {**task.tokenizer, **tokenizer_change}
        with tempfile.TemporaryDirectory() as tmp:
            config = parse_config({
                "modalities": {name: {"tokenizer": tokenizer, "reader": task.reader}},
                "head": {"kind": "classification", "options": {"pooling": "cls+max+mean"}},
                "data": {}, "epochs": args.epochs, "batch_size": 32,
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
                  f"trained {args.epochs} epochs without merging on {len(tr)} ({time.perf_counter() - t0:.0f} s), "
                  f"validated on {len(va)}")
            print(f"{'merging':>11}{'tokens out':>11}{'FLOPs x':>9}{'accuracy':>10}{'ms/sample':>11}")
            base = encoder_flops(n, encoder.embed_dim, encoder.depth, encoder.mlp_ratio, None)
            for spec in args.ratios:
                merging = _merging(spec)
                model = load_run(result.run_dir, encoder=encoder, token_merging=merging)
                t1 = time.perf_counter()
                acc = _accuracy(model, name, task.reader, val_sources, val_labels)
                ms = (time.perf_counter() - t1) * 1e3 / len(va)
                flops = encoder_flops(n, encoder.embed_dim, encoder.depth, encoder.mlp_ratio, merging)
                out = merged_token_counts(n, encoder.depth, merging)[-1][1]
                print(f"{merging.describe():>11}{out:>11}{base / flops:>9.2f}{acc:>10.3f}{ms:>11.2f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="base", help="encoder preset of the speed part (default: base)")
    p.add_argument("--ratios", nargs="+", default=["0", "0.25", "0.5", "0.75", "0.9"],
                   help="merging settings: an integer r per block, or a total ratio such as 0.5")
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--epochs", type=int, default=4, help="training epochs of the accuracy tasks")
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
