"""Hyperspectral pipeline on an Indian Pines-shaped scene, through the registry, in one run.

    python benchmarks/bench_hyperspectral.py                 # 2-core CPU defaults: ~30 s
    python benchmarks/bench_hyperspectral.py --preset base --device cuda

The scene is generated here (145 x 145 pixels, 200 bands, int16, 16 classes on ~half the
pixels, saved with scipy.io.savemat as the Indian Pines files are). Stages:

- read: the .mat cube through ``hsi.read``;
- dataset: ``hsi.dataset(cube, labels=gt, neighbourhood=k)`` (lazy neighbourhoods), its memory
  against cutting every neighbourhood up front;
- fit on cube / fit on neighbourhoods: per-band min-max statistics from the scene or from every
  training sample (overlapping neighbourhoods: k*k times the pixels);
- tokenize / encoder: a batch of neighbourhoods through the band tokenizer (200 tokens) and the
  frozen encoder (+1 [CLS]), no grad.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import scipy.io
import torch

import metaframe
from machine import print_machine
from timing import best_of


def naive_fit(samples: list[torch.Tensor], bands: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The earlier fit, rebuilt as the baseline: one float64 min/max reduction per sample, no chunking."""
    low = torch.full((bands,), float("inf"), dtype=torch.float64)
    high = torch.full((bands,), float("-inf"), dtype=torch.float64)
    for x in samples:
        flat = x.reshape(bands, -1).double()
        low = torch.minimum(low, flat.min(1).values)
        high = torch.maximum(high, flat.max(1).values)
    return low, high


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=145)
    p.add_argument("--bands", type=int, default=200)
    p.add_argument("--neighbourhood", type=int, default=7)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--preset", default="tiny")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=2, help="torch threads")
    p.add_argument("--naive-samples", type=int, default=2000, help="neighbourhoods for the per-sample fit baseline (0: skip)")
    p.add_argument("--only", choices=("fit",), help="fit: only the read, dataset and fit stages")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print_machine()
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    hsi = metaframe.get_modality("hyperspectral")
    with tempfile.TemporaryDirectory() as tmp:
        cube_path, gt_path = Path(tmp) / "cube.mat", Path(tmp) / "gt.mat"
        scipy.io.savemat(cube_path, {"cube": rng.integers(1000, 9000, (args.size, args.size, args.bands)).astype(np.int16)})
        gt = rng.integers(1, 17, (args.size, args.size)).astype(np.uint8) * (rng.random((args.size, args.size)) < 0.49)
        scipy.io.savemat(gt_path, {"gt": gt})
        t_read, cube = best_of(lambda: hsi.read(cube_path), repeat=3)
        t_data, data = best_of(lambda: hsi.dataset(cube_path, labels=gt_path, neighbourhood=args.neighbourhood))
    k = args.neighbourhood
    eager_mb = len(data) * args.bands * k * k * 4 / 2**20
    lazy_mb = data.cube.numel() * 4 / 2**20
    tok = hsi.build_tokenizer(embed_dim=metaframe.FrozenEncoder.from_preset(args.preset).embed_dim, num_bands=args.bands, neighbourhood=k)
    t_fit_cube, _ = best_of(lambda: tok.fit([cube]))
    t_fit_samples, _ = best_of(lambda: tok.fit(data))
    if args.naive_samples:
        subset = [data[i][0] for i in range(min(args.naive_samples, len(data)))]
        t_naive, (low, _) = best_of(lambda: naive_fit(subset, args.bands), 2)
        t_chunked, _ = best_of(lambda: tok.fit(subset), 2)
        assert torch.allclose(tok.norm.shift.double(), low), "chunked and per-sample fits disagree"
    print(f"scene {args.size}x{args.size}x{args.bands}, {len(data)} labelled pixels, k={k}, encoder {args.preset}")
    print(f"read .mat cube          {t_read * 1e3:8.1f} ms")
    print(f"dataset (lazy)          {t_data * 1e3:8.1f} ms   memory {lazy_mb:6.1f} MiB (up-front cutting: {eager_mb:6.1f} MiB)")
    print(f"fit on cube             {t_fit_cube * 1e3:8.1f} ms")
    print(f"fit on neighbourhoods   {t_fit_samples * 1e3:8.1f} ms   ({len(data)} samples; {t_fit_samples / t_fit_cube:.1f}x the cube fit)")
    if args.naive_samples:
        print(f"fit on {len(subset)} neighbourhoods: chunked float32 {t_chunked * 1e3:.1f} ms, per-sample float64 "
              f"(baseline) {t_naive * 1e3:.1f} ms: {t_naive / t_chunked:.1f}x; same min/max")
    if args.only == "fit":
        return
    encoder = metaframe.FrozenEncoder.from_preset(args.preset, seed=0).to(args.device)
    tok = tok.to(args.device).eval()
    batch = hsi.collate([data[i][0] for i in range(args.batch)]).to(args.device)
    with torch.no_grad():
        t_tok, tokens = best_of(lambda: tok(batch).tokens, repeat=3)
        seq = torch.cat([tokens[:, :1], tokens], 1)
        t_enc, _ = best_of(lambda: encoder(seq), repeat=3)
    print(f"device {args.device}")
    print(f"tokenize batch {args.batch:<4d}     {t_tok * 1e3:8.1f} ms   ({tokens.shape[1]} tokens/sample)")
    print(f"encoder  batch {args.batch:<4d}     {t_enc * 1e3:8.1f} ms")


if __name__ == "__main__":
    main()
