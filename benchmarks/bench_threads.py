"""Thread counts (issue 12): the same tiny training run with torch's default intra-op threads,
with 1, and with the rule of ``metaframe.threads`` (``threads: auto``), for ``num_workers`` 0 and 2,
on the machine as it is and under generated load (``--load N`` busy-loop processes).

    .venv/bin/python benchmarks/bench_threads.py --load 2 --repeat 2

Each run is its own subprocess (a process's thread count is set once, at start) and times
``metaframe.train`` only, not the imports; conditions are interleaved and the best of
``--repeat`` is kept, so a noisy moment does not pick a winner. The data: PNG images in class
folders (decoded and resized by the readers, in workers when there are some), tiny encoder.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import print_machine

MODES = ("torch default", "1", "rule (auto)")


def write_images(root: Path, n: int, size: int) -> None:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(n):
        label = i % 2
        folder = root / f"class{label}"
        folder.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        pixels[..., label] //= 2  # a learnable difference between the classes
        Image.fromarray(pixels).save(folder / f"{i}.png")


def one_run(data: str, workers: int, mode: str, epochs: int) -> dict:
    import torch

    default = torch.get_num_threads()  # before metaframe or the rule touches it
    import metaframe

    threads: int | str = {"torch default": default, "1": 1, "rule (auto)": "auto"}[mode]
    with tempfile.TemporaryDirectory() as out:
        cfg = {
            "modality": "image",
            "tokenizer": {"in_channels": 3, "patch_size": 8, "image_size": 64},
            "reader": {"size": 64},
            "encoder": {"preset": "tiny"},
            "data": {"train": data, "val_fraction": 0.25},
            "epochs": epochs, "batch_size": 16, "num_workers": workers, "threads": threads,
            "device": "cpu", "output_dir": str(Path(out) / "run"),
        }
        start = time.perf_counter()
        metaframe.train(cfg, quiet=True)
        seconds = time.perf_counter() - start
        main_threads = torch.get_num_threads()
    return {"workers": workers, "mode": mode, "main_threads": main_threads, "seconds": seconds}


def _busy() -> None:
    while True:
        pass


def _measure(data: str, workers: int, mode: str, epochs: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}  # so auto follows the rule
    cmd = [sys.executable, __file__, "_run", data, str(workers), mode, str(epochs)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load", type=int, default=None, help="busy-loop processes of the loaded condition (default: one per usable core)")
    parser.add_argument("--repeat", type=int, default=2, help="best of N per condition")
    parser.add_argument("--images", type=int, default=48)
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    if args.load is None:
        from metaframe.threads import usable_cores

        args.load = usable_cores()
    print_machine()
    best: dict[tuple[int, int, str], dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        write_images(Path(tmp), args.images, 128)
        for _ in range(args.repeat):
            for load in (0, args.load):
                hogs = [mp.Process(target=_busy, daemon=True) for _ in range(load)]
                for h in hogs:
                    h.start()
                try:
                    for workers in (0, 2):
                        for mode in MODES:
                            r = _measure(tmp, workers, mode, args.epochs)
                            key = (load, workers, mode)
                            if key not in best or r["seconds"] < best[key]["seconds"]:
                                best[key] = r
                finally:
                    for h in hogs:
                        h.terminate()
                        h.join()
    print(f"\n{args.images} images 128 px -> 64 px, tiny encoder, {args.epochs} epochs, best of {args.repeat}")
    print("| load | num_workers | threads | main-process threads | train s |")
    print("|---|---|---|---|---|")
    for (load, workers, mode), r in sorted(best.items(), key=lambda kv: (kv[0][0], kv[0][1], MODES.index(kv[0][2]))):
        label = "none" if load == 0 else f"{load} busy processes"
        print(f"| {label} | {workers} | {mode} | {r['main_threads']} | {r['seconds']:.1f} |")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_run":
        data, workers, mode, epochs = sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
        print(json.dumps(one_run(data, workers, mode, epochs)), flush=True)
    else:
        main()
