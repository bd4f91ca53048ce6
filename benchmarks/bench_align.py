"""Aligned space on sklearn digits: image <-> caption retrieval, zero-shot, and emergent series <-> caption retrieval.

Usage: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_align.py [--epochs 6] [--preset tiny] [--out /tmp/bench-align]

Three modalities of the 1,797 sklearn digits (8x8), written as files and one paired manifest:
- image: the digit as an 8x8 PNG;
- text: a caption, one of five phrasings of the digit's word ("a photo of the digit three",
  "a handwritten three", ...), so 50 distinct captions;
- time_series: the digit's 64 pixels read in raster order as a 64-step series, plus noise.
The run binds each modality to the anchor image only (ImageBind): half of the training rows are
(image, text), the other half (image, series); no training row holds text and series together.
The validation rows hold all three, so the text <-> series retrieval is measured though the
two were never trained together (emergent). Recall is instance-level (the pair's own row): a
caption is shared by about n/50 validation rows and ties count against the pair, so text ->
image recall@1 cannot exceed about 50/n; the ceiling is printed beside chance. Zero-shot:
the validation images classified by the prompt "a photo of the digit {}" over the ten words.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np
import torch

from machine import print_machine

WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
PHRASES = ["a photo of the digit {}", "a handwritten {}", "the number {}", "a picture of a {}", "{} written by hand"]


def write_data(root: Path, seed: int = 0) -> tuple[Path, Path]:
    """``train.csv`` (image+text or image+series rows) and ``val.csv`` (all three), files beside them."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(digits.images))
    n_val = len(order) // 5
    (root / "files").mkdir(parents=True, exist_ok=True)
    rows: dict[str, list[list[str]]] = {"train": [], "val": []}
    for position, i in enumerate(order):
        image = (digits.images[i] * 255 / 16).astype(np.uint8)
        Image.fromarray(image).save(root / "files" / f"{i:04d}.png")
        series = digits.images[i].reshape(64, 1) / 16 + rng.normal(0, 0.1, size=(64, 1))
        np.save(root / "files" / f"{i:04d}.npy", series.astype(np.float32))
        caption = PHRASES[rng.integers(len(PHRASES))].format(WORDS[digits.target[i]])
        split = "val" if position < n_val else "train"
        image_file, series_file, word = f"files/{i:04d}.png", f"files/{i:04d}.npy", WORDS[digits.target[i]]
        if split == "val":
            rows[split].append([image_file, caption, series_file, word])
        elif position % 2:  # empty cells: the row lacks that modality
            rows[split].append([image_file, caption, "", word])
        else:
            rows[split].append([image_file, "", series_file, word])
    for split, lines in rows.items():
        with open(root / f"{split}.csv", "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["image", "text", "time_series", "digit"])
            writer.writerows(lines)
    return root / "train.csv", root / "val.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--preset", default="tiny", help="encoder preset (random weights, seeded)")
    parser.add_argument("--encoder", default=None, help="a registered / packaged encoder instead, e.g. all-minilm-l6-v2")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--out", default="/tmp/bench-align")
    parser.add_argument("--reuse", action="store_true", help="measure the run already in --out instead of training again")
    args = parser.parse_args()
    print_machine()
    import shutil

    import metaframe

    root = Path(args.out)
    if not args.reuse:
        shutil.rmtree(root, ignore_errors=True)
        train_csv, val_csv = write_data(root)
    train_csv, val_csv = root / "train.csv", root / "val.csv"
    config = {
        "modalities": {
            "image": {"tokenizer": {"patch_size": 2, "image_size": 8}, "reader": {"size": 8}},
            "text": {"tokenizer": {"context_length": 16}, "reader": {"context_length": 16}},
            "time_series": {"tokenizer": {"mode": "patch", "in_channels": 1, "patch_len": 8, "stride": 8}},
        },
        "encoder": {"name": args.encoder} if args.encoder else {"preset": args.preset, "seed": 0},
        "align": {"dim": 128, "anchor": "image"},
        "data": {"train": str(train_csv), "val": str(val_csv)},
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "optimizer": {"lr": args.lr},
        "schedule": {"warmup_steps": 10},
        "device": "cpu",
        "threads": 1,
        "output_dir": str(root / "run"),
    }
    t = time.perf_counter()
    run_dir = root / "run"
    if not args.reuse:
        metaframe.train(config, quiet=True)
    train_s = time.perf_counter() - t
    steps = json.loads((run_dir / "checkpoints" / "last.json").read_text())["step"]
    report = metaframe.evaluate(run_dir, val_csv, quiet=True)
    with open(val_csv, newline="", encoding="utf-8") as fh:
        val_rows = list(csv.reader(fh))[1:]
    images = [root / r[0] for r in val_rows]
    truth = [r[3] for r in val_rows]
    zs = metaframe.zero_shot(run_dir, images, WORDS, "a photo of the digit {}", modality="image", truth=truth)
    n = report["count"]
    distinct = len({r[1] for r in val_rows})
    print(f"\nencoder {args.encoder or 'preset ' + args.preset}, {args.epochs} epochs, batch {args.batch_size}, lr {args.lr}: "
          f"{steps} steps" + ("" if args.reuse else f" in {train_s:.0f} s") + f"; {n} validation rows ({distinct} distinct captions)")
    print("| pair | trained together | direction | R@1 | R@5 | R@10 | median rank | chance R@1 |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for name, entry in report["retrieval"]["pairs"].items():
        for direction, m in entry.items():
            if isinstance(m, dict):
                print(f"| {name} | {'yes' if entry['trained'] else 'no (emergent)'} | {direction} | {m['recall@1']:.3f} | "
                      f"{m['recall@5']:.3f} | {m['recall@10']:.3f} | {m['median_rank']:.0f} | {m['chance_recall@1']:.4f} |")
    print(f"\nceiling of text -> other R@1 with shared captions: {distinct / n:.3f}")
    print(f"zero-shot accuracy on {len(images)} validation images, 10 digits, 'a photo of the digit {{}}': "
          f"{zs.accuracy:.3f} (chance {zs.chance:.3f})")
    # retrieval among the distinct captions: each image / series ranks its own caption among the
    # 50 (no ties between identical captions, which instance-level recall counts against the pair)
    captions = sorted({r[1] for r in val_rows})
    text = metaframe.embed(run_dir, "text", captions)
    own = torch.tensor([captions.index(r[1]) for r in val_rows])
    print(f"\n| query -> the {len(captions)} distinct captions | R@1 | R@5 | chance R@1 |")
    print("| --- | ---: | ---: | ---: |")
    for modality, column in (("image", 0), ("time_series", 2)):
        queries = metaframe.embed(run_dir, modality, [root / r[column] for r in val_rows])
        scores = queries @ text.T
        rank = (scores >= scores.gather(1, own[:, None])).sum(1)
        tag = " (emergent)" if modality == "time_series" else ""
        print(f"| {modality}{tag} | {(rank <= 1).float().mean():.3f} | {(rank <= 5).float().mean():.3f} | {1 / len(captions):.3f} |")
    (root / "summary.json").write_text(json.dumps({"retrieval": report["retrieval"], "zero_shot": zs.accuracy}, indent=2))


if __name__ == "__main__":
    main()
