"""Encode at scale: 1 vs 2 processes (torchrun, gloo), WebDataset shards vs a folder, and batching
by length vs input order, on a skewed length distribution (one-channel series, log-normal lengths).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_encode_scale.py --files 768 --batch 16

Every configuration runs ``metaframe.encode(..., out=DIR)`` in its own process(es), one intra-op
thread and no DataLoader workers per process, on the same data, preset ``tiny``, step tokens (one
token per time step). Timing starts after the imports (a process's start-up is not encode work)
and covers the model build, reading, encoding, shard writes and the final index. Prints the
machine, one JSON line per configuration (seconds, samples/s, real tokens/s, padding fraction),
then the ratios.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

from machine import print_machine

HERE = Path(__file__).resolve()


def write_data(root: Path, files: int, per_tar: int, seed: int = 0) -> tuple[Path, list[Path]]:
    """``files`` series with log-normal lengths (median ~45 steps, a tail to 512), as .npy files and tars."""
    rng = np.random.default_rng(seed)
    folder = root / "series"
    folder.mkdir(parents=True)
    lengths = np.clip(rng.lognormal(3.8, 0.9, size=files).astype(int), 4, 512)
    for i, n in enumerate(lengths):
        np.save(folder / f"s{i:05d}.npy", rng.normal(size=(n, 1)).astype(np.float32))
    tars = []
    paths = sorted(folder.glob("*.npy"))
    for t in range(0, len(paths), per_tar):
        tar_path = root / f"shard-{t // per_tar:06d}.tar"
        with tarfile.open(tar_path, "w") as tar:
            for p in paths[t : t + per_tar]:
                data = p.read_bytes()
                info = tarfile.TarInfo(f"{p.stem}.npy")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        tars.append(tar_path)
    return folder, tars


def one(args: argparse.Namespace) -> None:
    """One configuration in this process (a torchrun rank, or alone): a JSON line per process."""
    import torch

    import metaframe

    torch.manual_seed(0)
    start = time.perf_counter()
    inputs = json.loads(args.inputs)
    result = metaframe.encode(
        "time_series", inputs, args.out, tokenizer_options={"in_channels": 1}, batch_size=args.batch,
        num_workers=0, quiet=True, bucket_by_length=not args.no_bucketing, shard_size=args.shard_size,
    )
    seconds = time.perf_counter() - start
    print(json.dumps({"rank": int(os.environ.get("RANK", "0")), "seconds": seconds, "encoded": result.encoded,
                      "real_tokens": result.real_tokens, "padded_tokens": result.padded_tokens}))


def run(name: str, inputs: list[str], out: Path, batch: int, processes: int, bucketing: bool, shard_size: int) -> dict:
    command = [str(HERE), "_one", "--inputs", json.dumps(inputs), "--out", str(out), "--batch", str(batch),
               "--shard-size", str(shard_size)] + ([] if bucketing else ["--no-bucketing"])
    if processes > 1:
        torchrun = str(Path(sys.executable).parent / "torchrun")
        command = [torchrun, "--standalone", "--nproc-per-node", str(processes), *command]
    else:
        command = [sys.executable, *command]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{name}: failed\n{done.stderr[-3000:]}")
    ranks = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    seconds = max(r["seconds"] for r in ranks)
    encoded = sum(r["encoded"] for r in ranks)
    real, padded = sum(r["real_tokens"] for r in ranks), sum(r["padded_tokens"] for r in ranks)
    row = {"config": name, "processes": processes, "bucketing": bucketing, "seconds": round(seconds, 2),
           "samples_per_s": round(encoded / seconds, 1), "real_tokens_per_s": round(real / seconds),
           "padding_fraction": round(padded / (real + padded), 3), "encoded": encoded}
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=768)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--per-tar", type=int, default=256, help="samples per WebDataset shard (= output shard from tars)")
    parser.add_argument("--shard-size", type=int, default=256, help="inputs per output shard (folder inputs)")
    args = parser.parse_args()
    print_machine()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder, tars = write_data(root, args.files, args.per_tar)
        common = dict(batch=args.batch, shard_size=args.shard_size)
        rows = {
            "folder, 1 process": run("folder, 1 process", [str(folder)], root / "o1", processes=1, bucketing=True, **common),
            "folder, 2 processes": run("folder, 2 processes", [str(folder)], root / "o2", processes=2, bucketing=True, **common),
            "shards, 1 process": run("shards, 1 process", [str(t) for t in tars], root / "o3", processes=1, bucketing=True, **common),
            "folder, 1 process, no bucketing": run("folder, 1 process, no bucketing", [str(folder)], root / "o4",
                                                   processes=1, bucketing=False, **common),
        }
    one_p, two_p = rows["folder, 1 process"], rows["folder, 2 processes"]
    shards, plain = rows["shards, 1 process"], rows["folder, 1 process, no bucketing"]
    print(json.dumps({
        "two_vs_one_process_samples_per_s": round(two_p["samples_per_s"] / one_p["samples_per_s"], 2),
        "shards_vs_folder_samples_per_s": round(shards["samples_per_s"] / one_p["samples_per_s"], 2),
        "bucketing_vs_none_real_tokens_per_s": round(one_p["real_tokens_per_s"] / plain["real_tokens_per_s"], 2),
        "padding_fraction_without_bucketing": plain["padding_fraction"],
        "padding_fraction_with_bucketing": one_p["padding_fraction"],
    }))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_one":
        p = argparse.ArgumentParser()
        p.add_argument("_one")
        p.add_argument("--inputs", required=True)
        p.add_argument("--out", required=True)
        p.add_argument("--batch", type=int, required=True)
        p.add_argument("--shard-size", type=int, required=True)
        p.add_argument("--no-bucketing", action="store_true")
        one(p.parse_args())
    else:
        main()
