"""Engine benchmarks: training step time / peak memory with and without activation checkpointing,
and ``encode`` end-to-end throughput against the encoder alone on the same files.

    .venv/bin/python benchmarks/bench_engine.py step   --preset base --batch 32 --steps 3
    .venv/bin/python benchmarks/bench_engine.py encode --preset base --files 96 --batch 32 --workers 1

Each ``step`` configuration runs in its own subprocess so that peak memory (CUDA: max allocated;
CPU: peak resident set growth) is its own. Prints one JSON line per measurement.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import print_machine


def _rss_mib() -> float:
    """Current resident set size (Linux /proc), MiB."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def one_step_config(preset: str, batch: int, steps: int, checkpointing: bool, device: str) -> dict:
    import torch

    import metaframe

    dev = torch.device(device)
    encoder = metaframe.FrozenEncoder.from_preset(preset, seed=0)
    encoder.gradient_checkpointing = checkpointing
    image = metaframe.get_modality("image")
    tok = image.build_tokenizer(embed_dim=encoder.embed_dim)
    head = metaframe.build_head("classification", embed_dim=encoder.embed_dim, num_classes=10)
    model = metaframe.MetaModel(encoder, {"image": tok}, {"label": head}).to(dev)
    opt = torch.optim.AdamW(model.trainable_parameters(), lr=1e-4)
    images = torch.randn(batch, 3, 224, 224, device=dev)
    labels = torch.randint(0, 10, (batch,), device=dev)
    times = []
    base_rss = _rss_mib()
    peak_rss = base_rss
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
        base_cuda = torch.cuda.memory_allocated(dev)
    for _ in range(steps + 1):  # the first step warms up
        t0 = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(model({"image": images})["label"], labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        times.append(time.perf_counter() - t0)
        peak_rss = max(peak_rss, _rss_mib())
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux
    out = {
        "bench": "train_step", "preset": preset, "batch": batch, "tokens": 197, "checkpointing": checkpointing,
        "device": device, "step_s": sum(times[1:]) / steps, "steps": steps,
        "peak_rss_mib": round(max(peak_rss, peak_self), 1), "rss_growth_mib": round(max(peak_rss, peak_self) - base_rss, 1),
    }
    if dev.type == "cuda":
        out["peak_cuda_alloc_mib"] = round((torch.cuda.max_memory_allocated(dev) - base_cuda) / 2**20, 1)
    return out


def bench_steps(args: argparse.Namespace) -> None:
    for checkpointing in (False, True):
        cmd = [sys.executable, __file__, "_step", "--preset", args.preset, "--batch", str(args.batch),
               "--steps", str(args.steps), "--device", args.device] + (["--checkpointing"] if checkpointing else [])
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
        print(done.stdout.strip().splitlines()[-1], flush=True)


def bench_encode(args: argparse.Namespace) -> None:
    import numpy as np
    import torch
    from PIL import Image

    import metaframe
    from metaframe.engine.encoding import encode

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i in range(args.files):
            path = Path(tmp) / f"{i:04d}.jpg"
            Image.fromarray(rng.integers(0, 256, size=(256, 320, 3), dtype=np.uint8)).save(path, quality=90)
            files.append(path)
        encoder = metaframe.FrozenEncoder.from_preset(args.preset, seed=0)
        image = metaframe.get_modality("image")
        tok = image.build_tokenizer(embed_dim=encoder.embed_dim)
        model = metaframe.MetaModel(encoder, {"image": tok}).eval().to(args.device)
        # encoder only: the same files, already decoded and collated
        batches = [image.collate([image.read(f) for f in files[i : i + args.batch]]) for i in range(0, len(files), args.batch)]

        def encoder_only() -> float:
            t0 = time.perf_counter()
            with torch.inference_mode():
                for b in batches:
                    model.encode({"image": b.to(args.device)}).cls.cpu()
            return time.perf_counter() - t0

        def end_to_end() -> float:
            # reading, decoding, resizing and tokenizing in DataLoader workers, then the encoder
            t0 = time.perf_counter()
            encode("image", files, None, encoder=encoder, batch_size=args.batch, num_workers=args.workers,
                   device=args.device, quiet=True)
            return time.perf_counter() - t0

        with torch.inference_mode():
            model.encode({"image": batches[0].to(args.device)})  # warm-up
        # interleaved repeats, best of each: the machine is shared, noise only ever adds time
        timings: dict[str, list[float]] = {"encoder_only": [], "end_to_end": []}
        for _ in range(args.repeats):
            timings["encoder_only"].append(encoder_only())
            timings["end_to_end"].append(end_to_end())
        encoder_s, e2e_s = min(timings["encoder_only"]), min(timings["end_to_end"])
        result = encode("image", files[:2], None, encoder=encoder, num_workers=0, quiet=True)
        assert result.embeddings.shape[0] == 2
    print(json.dumps({
        "bench": "encode", "preset": args.preset, "files": len(files), "batch": args.batch, "workers": args.workers,
        "device": args.device, "repeats": args.repeats, "encoder_only_files_per_s": round(len(files) / encoder_s, 2),
        "end_to_end_files_per_s": round(len(files) / e2e_s, 2), "ratio": round(encoder_s / e2e_s, 3),
    }), flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=("step", "encode", "_step"))
    p.add_argument("--preset", default="base")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--files", type=int, default=96)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--checkpointing", action="store_true")
    args = p.parse_args()
    if args.what == "_step":
        print(json.dumps(one_step_config(args.preset, args.batch, args.steps, args.checkpointing, args.device)))
    elif args.what == "step":
        print_machine()  # not in "_step": its stdout is one JSON line read by the parent
        bench_steps(args)
    else:
        print_machine()
        bench_encode(args)


if __name__ == "__main__":
    main()
