"""Frozen-encoder throughput on a CUDA device: base and large presets, batch 64, bf16 autocast, fused attention.

Usage: .venv/bin/python benchmarks/bench_gpu_encoder.py [--batch 64] [--tokens 197] [--repeat 10]
Fused attention: the timm blocks call ``scaled_dot_product_attention``; on CUDA with bf16 that picks
the flash / memory-efficient kernels. Prints the device, then samples/s and tokens/s per preset
(median of ``--repeat`` timed forwards after warm-up, synchronised). Without CUDA it says so and
exits 2 (scripts/gpu-check.sh runs it).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch

from machine import print_machine
from metaframe import FrozenEncoder


def throughput(preset: str, batch: int, tokens: int, repeat: int) -> tuple[float, float]:
    """(samples/s, ms per forward) of ``preset`` at ``batch`` x ``tokens`` under bf16 autocast."""
    encoder = FrozenEncoder.from_preset(preset, seed=0).to("cuda").eval()
    x = torch.randn(batch, tokens, encoder.embed_dim, device="cuda")
    mask = torch.ones(batch, tokens, dtype=torch.bool, device="cuda")
    times = []
    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
        for _ in range(3):
            encoder(x, mask)
        torch.cuda.synchronize()
        for _ in range(repeat):
            start = time.perf_counter()
            encoder(x, mask)
            torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    del encoder, x
    torch.cuda.empty_cache()
    return batch / seconds, seconds * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--tokens", type=int, default=197)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--presets", nargs="+", default=["base", "large"])
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("skipped: no CUDA (torch.cuda.is_available() is False): this benchmark needs a GPU", file=sys.stderr)
        return 2
    print_machine()
    print(f"device: {torch.cuda.get_device_name(0)}; bf16 autocast, fused attention (scaled_dot_product_attention)")
    print(f"{'preset':<8} {'batch':>5} {'tokens':>6} {'ms/forward':>11} {'samples/s':>10} {'tokens/s':>11}")
    for preset in args.presets:
        per_second, ms = throughput(preset, args.batch, args.tokens, args.repeat)
        print(f"{preset:<8} {args.batch:>5} {args.tokens:>6} {ms:>11.2f} {per_second:>10.1f} {per_second * args.tokens:>11.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
