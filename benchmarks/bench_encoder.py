"""FrozenEncoder forward against the bare nn.Sequential of the same blocks, and its GFLOP/s.

Usage: .venv/bin/python benchmarks/bench_encoder.py [--preset base] [--batch 8] [--tokens 197] [--repeat 7]
Both run on the same tokens, interleaved in a shuffled order each round; the best (minimum)
times are compared (goal: ratio <= 1.03), since on a shared machine noise only adds time.
The machine's matmul ceiling is a large float32 matmul measured in the same run.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import torch
from torch import nn

from machine import print_machine
from metaframe import FrozenEncoder


def timed(fn, *args) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    with torch.inference_mode():
        fn(*args)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="base")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=197)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print_machine()

    encoder = FrozenEncoder.from_preset(args.preset, seed=0)
    bare = nn.Sequential(*encoder.blocks).eval()  # the same block objects, plain nn.Sequential
    x = torch.randn(args.batch, args.tokens, encoder.embed_dim)
    mask = torch.ones(args.batch, args.tokens, dtype=torch.bool)
    n, d = args.tokens, encoder.embed_dim
    flops = encoder.depth * args.batch * (24 * n * d * d + 4 * n * n * d)

    size = 2048
    a, b = torch.randn(size, size), torch.randn(size, size)
    cases = {
        "bare nn.Sequential": lambda: bare(x),
        "FrozenEncoder(tokens)": lambda: encoder(x),
        "FrozenEncoder(tokens, all-real mask)": lambda: encoder(x, mask),
        "matmul 2048^3": lambda: a @ b,
    }
    times: dict[str, list[float]] = {k: [] for k in cases}
    for fn in cases.values():
        timed(fn)
    rng = random.Random(0)
    for _ in range(args.repeat):
        order = list(cases)
        rng.shuffle(order)
        for name in order:
            times[name].append(timed(cases[name]))
    best = {k: min(v) for k, v in times.items()}
    med = {k: statistics.median(v) for k, v in times.items()}
    ceiling = 2 * size**3 / best["matmul 2048^3"] / 1e9
    print(f"preset={args.preset} batch={args.batch} tokens={args.tokens} threads={torch.get_num_threads()}")
    print(f"matmul ceiling: {ceiling:.1f} GFLOP/s\n")
    print("| case | best (s) | median (s) | ratio vs bare (best) | GFLOP/s (best) | % of matmul ceiling |")
    print("|---|---|---|---|---|---|")
    for name in ("bare nn.Sequential", "FrozenEncoder(tokens)", "FrozenEncoder(tokens, all-real mask)"):
        gf = flops / best[name] / 1e9
        ratio = best[name] / best["bare nn.Sequential"]
        print(f"| {name} | {best[name]:.3f} | {med[name]:.3f} | {ratio:.3f} | {gf:.1f} | {100 * gf / ceiling:.0f}% |")


if __name__ == "__main__":
    main()
