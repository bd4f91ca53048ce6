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
import platform
import tempfile
from pathlib import Path

import numpy as np
import scipy.io
import torch

import metaframe
from timing import best_of


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=145)
    p.add_argument("--bands", type=int, default=200)
    p.add_argument("--neighbourhood", type=int, default=7)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--preset", default="tiny")
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
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
    encoder = metaframe.FrozenEncoder.from_preset(args.preset, seed=0).to(args.device)
    tok = tok.to(args.device).eval()
    batch = hsi.collate([data[i][0] for i in range(args.batch)]).to(args.device)
    with torch.no_grad():
        t_tok, tokens = best_of(lambda: tok(batch).tokens, repeat=3)
        seq = torch.cat([tokens[:, :1], tokens], 1)
        t_enc, _ = best_of(lambda: encoder(seq), repeat=3)
    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, threads {torch.get_num_threads()}, device {args.device}")
    print(f"scene {args.size}x{args.size}x{args.bands}, {len(data)} labelled pixels, k={k}, encoder {args.preset}")
    print(f"read .mat cube          {t_read * 1e3:8.1f} ms")
    print(f"dataset (lazy)          {t_data * 1e3:8.1f} ms   memory {lazy_mb:6.1f} MiB (up-front cutting: {eager_mb:6.1f} MiB)")
    print(f"fit on cube             {t_fit_cube * 1e3:8.1f} ms")
    print(f"fit on neighbourhoods   {t_fit_samples * 1e3:8.1f} ms   ({len(data)} samples)")
    print(f"tokenize batch {args.batch:<4d}     {t_tok * 1e3:8.1f} ms   ({tokens.shape[1]} tokens/sample)")
    print(f"encoder  batch {args.batch:<4d}     {t_enc * 1e3:8.1f} ms")


if __name__ == "__main__":
    main()
