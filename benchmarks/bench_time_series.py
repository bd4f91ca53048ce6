"""Time-series and IMU pipelines through the registry, in one run.

    python benchmarks/bench_time_series.py                  # 2-core CPU defaults: ~1 min
    python benchmarks/bench_time_series.py --preset base --device cuda

Data is generated here: an ETTh1-shaped CSV (17,420 hourly rows, date + 7 variables) and a
10-minute 6-axis IMU recording at ~100 Hz with jittered timestamps. Stages:

- read / dataset: the CSV through ``ts.read`` and ``ts.dataset(input_length=96, horizon=96)``;
  the IMU CSV resampled to 50 Hz and cut into 2.56 s windows with 50 % overlap;
- circular conv: the step tokenizer's per-sample circular padding (gather + einsum, padding
  invariant) against plain ``nn.Conv1d(padding_mode="circular")`` on the same full-length batch;
- tokens / encode: tokens per sample and the tokenizer + frozen encoder time (no grad) for
  each tokenizer configuration at the official input (96 steps x 7) and a long one (720 x 7).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch

import metaframe
from machine import print_machine
from timing import best_of


def bench_circular(batch: int, device: torch.device, repeat: int) -> None:
    """The step tokenizer's per-sample circular wrap (gather + linear) against ``nn.Conv1d(padding_mode="circular")``.

    Same weights, full-length series (where both give the same tokens, checked); interleaved rounds, best and median.
    """
    import statistics

    from metaframe_time_series.step_tokenizer import circular_windows

    step = metaframe.get_modality("time_series").build_tokenizer(embed_dim=32, mode="step", in_channels=7).to(device).eval()
    x = torch.randn(batch, 720, 7, device=device)
    lengths = torch.full((batch,), 720)
    weight = step.conv.weight.reshape(32, 21)
    cases = {
        "per-sample wrap (gather + linear)": lambda: torch.nn.functional.linear(circular_windows(x, lengths).reshape(batch, 720, 21), weight),
        "nn.Conv1d circular": lambda: step.conv(x.transpose(1, 2)).transpose(1, 2),
    }
    with torch.no_grad():
        a, b = (fn() for fn in cases.values())
        assert torch.allclose(a, b, atol=1e-4), "the two circular convs disagree on full-length series"
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(repeat):
            for name, fn in cases.items():
                times[name].append(best_of(fn, 1)[0])
    print(f"circular conv, {batch} x 720 x 7 -> D=32, {repeat} interleaved rounds:")
    for name, ts_ in times.items():
        print(f"  {name:36} best {min(ts_) * 1e3:7.2f} ms   median {statistics.median(ts_) * 1e3:7.2f} ms")
    names = list(cases)
    print(f"  wrap / conv: best {min(times[names[0]]) / min(times[names[1]]):.2f}x, "
          f"median {statistics.median(times[names[0]]) / statistics.median(times[names[1]]):.2f}x")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--preset", default="tiny")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=2, help="torch threads")
    p.add_argument("--repeat", type=int, default=20, help="interleaved rounds for the circular conv comparison")
    p.add_argument("--only", choices=("conv",), help="conv: only the circular conv comparison")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    ts, imu = metaframe.get_modality("time_series"), metaframe.get_modality("imu")
    print_machine()
    print(f"device {args.device}")
    device = torch.device(args.device)
    if args.only == "conv":
        bench_circular(args.batch, device, args.repeat)
        return
    with tempfile.TemporaryDirectory() as tmp:
        ett = Path(tmp) / "etth1_like.csv"
        rows = 17420
        table = pd.DataFrame({"date": pd.date_range("2016-07-01", periods=rows, freq="h")})
        for name in ("HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"):
            table[name] = rng.normal(size=rows).cumsum()
        table.to_csv(ett, index=False)
        t_read, series = best_of(lambda: ts.read(ett), repeat=3)
        t_data, pairs = best_of(lambda: ts.dataset(ett, input_length=96, horizon=96), repeat=3)
        t_items, _ = best_of(lambda: [pairs[i] for i in range(0, len(pairs), 10)], repeat=3)
        print(f"ETTh1-shaped CSV {rows}x7: read {t_read * 1e3:.0f} ms; dataset {t_data * 1e3:.0f} ms "
              f"({len(pairs)} windows); {len(range(0, len(pairs), 10))} windows fetched in {t_items * 1e3:.0f} ms")

        rec = Path(tmp) / "imu.csv"
        steps = 600 * 100
        t = np.cumsum(rng.uniform(0.008, 0.012, steps))
        imu_table = pd.DataFrame({"timestamp": t})
        for g in ("acc", "gyro"):
            for axis in "xyz":
                imu_table[f"{g}_{axis}"] = rng.normal(size=steps)
        imu_table.to_csv(rec, index=False)
        t_imu, windows = best_of(lambda: imu.dataset(rec, window_seconds=2.56, overlap=0.5, rate=50), repeat=3)
        print(f"IMU CSV {steps} rows (~{t[-1]:.0f} s, jittered ~100 Hz): resample to 50 Hz + windows "
              f"{t_imu * 1e3:.0f} ms ({len(windows)} windows of {windows[0][0].length} steps)")

    bench_circular(args.batch, device, args.repeat)
    if args.only == "conv":
        return

    encoder = metaframe.FrozenEncoder.from_preset(args.preset, seed=0).to(device)
    d = encoder.embed_dim
    configs = {
        "time_series step": (ts, {"mode": "step", "in_channels": 7}),
        "time_series patch 16/8": (ts, {"mode": "patch", "in_channels": 7, "patch_len": 16, "stride": 8}),
        "time_series patch 16/16": (ts, {"mode": "patch", "in_channels": 7, "patch_len": 16, "stride": 16}),
    }
    print(f"| input | tokenizer | tokens / sample | tokenize + encode ({args.preset}, batch {args.batch}) |")
    print("|---|---|---|---|")
    for length in (96, 720):
        batch = ts.collate([ts.read(np.random.randn(length, 7)) for _ in range(args.batch)]).to(device)
        for name, (modality, options) in configs.items():
            model = metaframe.MetaModel(encoder, {modality.name: modality.build_tokenizer(embed_dim=d, **options)}).to(device).eval()
            with torch.no_grad():
                n = int(model.tokenizers[modality.name](batch).valid_mask[0].sum())
                t_enc, _ = best_of(lambda: model.encode({modality.name: batch}), repeat=3)
            print(f"| {length} x 7 | {name} | {n} | {t_enc * 1e3:.0f} ms |")
    imu_batch = imu.collate([w for w, _ in windows[: args.batch]]).to(device)
    for projection in ("channel", "joint"):
        model = metaframe.MetaModel(encoder, {"imu": imu.build_tokenizer(embed_dim=d, projection=projection)}).to(device).eval()
        with torch.no_grad():
            n = int(model.tokenizers["imu"](imu_batch).valid_mask[0].sum())
            t_enc, _ = best_of(lambda: model.encode({"imu": imu_batch}), repeat=3)
        print(f"| 6 x 128 (IMU) | imu {projection} | {n} | {t_enc * 1e3:.0f} ms |")


if __name__ == "__main__":
    main()
