"""Two official-model options against metaframe's defaults, on generated data.

    python benchmarks/bench_positions.py                 # 2-core CPU defaults: ~5 min (shared machine)
    python benchmarks/bench_positions.py --only series --steps 300

- point cloud: ``add_pos_each_block`` off (centre positions added once, the default) and on
  (before every frozen block, the official model), on a tiny generated shape task (sphere,
  cube, cylinder, cone surfaces; random anisotropic scale, rotation about z, jitter):
  validation accuracy after the same training steps, and the time of one training step;
- time series: the linear ``forecast`` head (``pooling="channel"``) and the ``informer_decoder``
  head (label length 48) on the same patch tokenizer, on a generated ETT-shaped series (hourly,
  7 channels: daily and weekly sinusoids + trend + noise, z-scored with the training part's
  statistics as ETT is): test MSE / MAE in those z units, and the time of one training step.

The encoder is a random frozen preset (``--preset``, tiny by default): the figures compare the
options under one encoder, not against the paper's pre-trained results.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

import metaframe
from machine import print_machine

SHAPES = ("sphere", "cube", "cylinder", "cone")


def _surface(kind: int, n: int, rng: np.random.Generator) -> np.ndarray:
    u, v = rng.uniform(size=n), rng.uniform(size=n)
    if kind == 0:  # sphere
        p = rng.normal(size=(n, 3))
        return p / np.linalg.norm(p, axis=1, keepdims=True)
    if kind == 1:  # cube: a random face, a random point on it
        p = rng.uniform(-1, 1, size=(n, 3))
        axis, sign = rng.integers(0, 3, n), rng.choice([-1.0, 1.0], n)
        p[np.arange(n), axis] = sign
        return p
    if kind == 2:  # cylinder side
        a = 2 * math.pi * u
        return np.stack([np.cos(a), np.sin(a), 2 * v - 1], 1)
    a, h = 2 * math.pi * u, v  # cone side, apex up
    return np.stack([(1 - h) * np.cos(a), (1 - h) * np.sin(a), 2 * h - 1], 1)


def shape_clouds(count: int, points: int, seed: int) -> tuple[list[np.ndarray], torch.Tensor]:
    rng = np.random.default_rng(seed)
    clouds, labels = [], []
    for i in range(count):
        kind = i % len(SHAPES)
        p = _surface(kind, points, rng) * rng.uniform(0.5, 1.5, size=3)
        a = rng.uniform(0, 2 * math.pi)
        rot = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
        clouds.append((p @ rot.T + rng.normal(0, 0.02, size=p.shape)).astype(np.float32))
        labels.append(kind)
    return clouds, torch.tensor(labels)


def bench_point_cloud(encoder: metaframe.FrozenEncoder, args: argparse.Namespace) -> None:
    pc = metaframe.get_modality("point_cloud")
    train_x, train_y = shape_clouds(args.pc_train, args.points, seed=0)
    val_x, val_y = shape_clouds(args.pc_val, args.points, seed=1)
    val = pc.collate([pc.read(c, num_points=None) for c in val_x])
    d = encoder.embed_dim
    print(f"\npoint cloud: {len(SHAPES)} shapes, {args.points} points, {args.pc_train} train / {args.pc_val} val, "
          f"{args.centers} centres, k {args.k}, {args.pc_steps} steps of batch {args.batch}, lr {args.lr}, seed 0")
    print("| positions | val accuracy | train step |")
    print("|---|---|---|")
    for each in (False, True):
        torch.manual_seed(0)
        tok = pc.build_tokenizer(embed_dim=d, num_centers=args.centers, k=args.k, add_pos_each_block=each)
        head = metaframe.build_head("classification", embed_dim=d, num_classes=len(SHAPES), pooling="cls+max+mean")
        model = metaframe.MetaModel(encoder, {"point_cloud": tok}, {"y": head})
        opt = torch.optim.AdamW(model.trainable_parameters(), lr=args.lr)
        rng = np.random.default_rng(0)
        times = []
        model.train()
        for _ in range(args.pc_steps):
            idx = rng.choice(len(train_x), args.batch, replace=False)
            batch = pc.collate([pc.read(train_x[i], num_points=None) for i in idx])
            start = time.perf_counter()
            loss = torch.nn.functional.cross_entropy(model({"point_cloud": batch})["y"], train_y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            times.append(time.perf_counter() - start)
        model.eval()
        with torch.no_grad():
            acc = float((model({"point_cloud": val})["y"].argmax(-1) == val_y).float().mean())
        name = "before every block (official)" if each else "once at the input (default)"
        print(f"| {name} | {acc:.3f} | {np.median(times) * 1e3:.0f} ms |")


def ett_like(rows: int, seed: int) -> np.ndarray:
    """``[rows, 7]`` hourly: per channel daily + weekly sinusoids, a slow trend, AR(1) noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(rows, dtype=np.float64)
    out = []
    for _ in range(7):
        daily = rng.uniform(0.5, 2.0) * np.sin(2 * math.pi * t / 24 + rng.uniform(0, 2 * math.pi))
        weekly = rng.uniform(0.2, 1.0) * np.sin(2 * math.pi * t / 168 + rng.uniform(0, 2 * math.pi))
        trend = rng.uniform(-1, 1) * t / rows * 3
        noise = np.zeros(rows)
        eps = rng.normal(0, 0.3, rows)
        for i in range(1, rows):
            noise[i] = 0.8 * noise[i - 1] + eps[i]
        out.append(daily + weekly + trend + noise + rng.normal(0, 2))
    return np.stack(out, 1).astype(np.float32)


def bench_series(encoder: metaframe.FrozenEncoder, args: argparse.Namespace) -> None:
    ts = metaframe.get_modality("time_series")
    series = ett_like(args.rows, seed=0)
    split = int(len(series) * 0.7)
    mean, std = series[:split].mean(0), series[:split].std(0)
    series = torch.from_numpy((series - mean) / std)
    L, H = args.input_length, args.horizon
    starts_train = np.arange(0, split - L - H)
    starts_test = np.arange(split, len(series) - L - H, H)

    def windows(starts: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.stack([series[s : s + L] for s in starts])
        y = torch.stack([series[s + L : s + L + H] for s in starts])
        return x, y

    test_x, test_y = windows(starts_test)
    d = encoder.embed_dim
    tokens = "patch 16/8 + RevIN" if args.series_mode == "patch" else "one token per step (mode step) + RevIN"
    print(f"\ntime series: ETT-shaped, {args.rows} hourly rows x 7, input {L}, horizon {H}, {tokens}; "
          f"{args.ts_steps} steps of batch {args.batch}, lr {args.lr}; {len(starts_test)} test windows, seed 0")
    print("| head | trainable head params | test MSE | test MAE | train step |")
    print("|---|---|---|---|---|")
    heads = {
        "forecast (linear, pooling=channel)": ("forecast", {"pooling": "channel"}),
        f"informer_decoder (label 48, d_model {args.d_model}, 1 layer)": (
            "informer_decoder", {"label_len": 48, "d_model": args.d_model, "num_heads": 4, "num_layers": 1}),
    }
    if args.series_mode == "step":  # the linear head's channel pooling needs the patch tokens' channels
        heads = {n: h for n, h in heads.items() if h[0] == "informer_decoder"}
    for name, (kind, options) in heads.items():
        torch.manual_seed(0)
        if args.series_mode == "patch":
            tok = ts.build_tokenizer(embed_dim=d, mode="patch", in_channels=7, patch_len=16, stride=8)
        else:
            tok = ts.build_tokenizer(embed_dim=d, mode="step", in_channels=7, normalize="revin")
        head = metaframe.build_head(kind, embed_dim=d, horizon=H, channels=7, **options)
        model = metaframe.MetaModel(encoder, {"time_series": tok}, {"y": head})
        opt = torch.optim.AdamW(model.trainable_parameters(), lr=args.lr)
        rng = np.random.default_rng(0)
        times = []
        model.train()
        for _ in range(args.ts_steps):
            x, y = windows(rng.choice(starts_train, args.batch, replace=False))
            start = time.perf_counter()
            loss = torch.nn.functional.mse_loss(model({"time_series": x})["y"], y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            times.append(time.perf_counter() - start)
        model.eval()
        with torch.no_grad():
            pred = torch.cat([model({"time_series": part})["y"] for part in test_x.split(64)])
        mse, mae = float(((pred - test_y) ** 2).mean()), float((pred - test_y).abs().mean())
        n_head = sum(p.numel() for p in head.parameters())
        print(f"| {name} | {n_head:,} | {mse:.3f} | {mae:.3f} | {np.median(times) * 1e3:.0f} ms |")
    last = test_x[:, -1:, :].expand(-1, H, -1)
    print(f"| repeat the last value (no training) | 0 | {float(((last - test_y) ** 2).mean()):.3f} | "
          f"{float((last - test_y).abs().mean()):.3f} | - |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="tiny")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1: the shared 2-core machine oversubscribes with 2)")
    p.add_argument("--only", choices=("point_cloud", "series"))
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--points", type=int, default=256)
    p.add_argument("--centers", type=int, default=32)
    p.add_argument("--k", type=int, default=16)
    p.add_argument("--pc-train", type=int, default=400)
    p.add_argument("--pc-val", type=int, default=200)
    p.add_argument("--pc-steps", type=int, default=80)
    p.add_argument("--rows", type=int, default=3000)
    p.add_argument("--input-length", type=int, default=96)
    p.add_argument("--horizon", type=int, default=24)
    p.add_argument("--d-model", type=int, default=64)
    p.add_argument("--ts-steps", type=int, default=80)
    p.add_argument("--series-mode", choices=("patch", "step"), default="patch",
                   help="time_series tokenizer: patches (both heads) or the official one token per step (Informer head)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print_machine()
    encoder = metaframe.FrozenEncoder.from_preset(args.preset, seed=0)
    print(f"encoder: random {args.preset} preset ({encoder.embed_dim} wide, {encoder.depth} blocks), frozen")
    if args.only in (None, "point_cloud"):
        bench_point_cloud(encoder, args)
    if args.only in (None, "series"):
        bench_series(encoder, args)


if __name__ == "__main__":
    main()
