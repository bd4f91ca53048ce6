"""Video decode + tokenize throughput against the frozen encoder's, on the same clips, in one run.

    python benchmarks/bench_video.py                       # 2-core CPU defaults: ~30 s
    python benchmarks/bench_video.py --size 224 --preset base --clips 4 --device cuda

Clips are generated here (libx264, `--source-frames` frames of `--source-size`, a keyframe
every `--gop` frames, as camera footage has), then read through the registry
(`metaframe.get_modality("video")`). Stages, each timed over all clips:

- decode (seek): only the sampled frames, seeking to keyframes (what the reader does);
- decode (in order): every frame up to the last sampled one, no seeking, for comparison;
- read: decode + sampling + resize + normalise (the reader, seeking);
- tokenize: the tubelet tokenizer on the read clips (batch `--batch`);
- encoder: the frozen encoder on those tokens (+1 [CLS]), no grad.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch

import metaframe
from machine import print_machine
from timing import best_time
from metaframe_video.decode import decode_video_frames
from metaframe_video.examples import write_mp4
from metaframe_video.sampling import frame_indices


def make_clips(directory: Path, count: int, frames: int, size: tuple[int, int], gop: int) -> list[Path]:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        base = rng.integers(0, 256, size=(size[0] // 8, size[1] // 8, 3), dtype=np.uint8)
        clip = np.stack([np.kron(np.roll(base, t, axis=1), np.ones((8, 8, 1), np.uint8)) for t in range(frames)])
        paths.append(write_mp4(directory / f"clip_{i}.mp4", clip, fps=25, gop=gop))
    return paths


def bench_resize(args: argparse.Namespace) -> None:
    """``to_clip`` on one clip's decoded uint8 frames against the same frames in float [0, 1]."""
    from metaframe_video.transform import to_clip

    h, w = args.source_size
    frames = torch.randint(0, 256, (args.num_frames, 3, h, w), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    as_float = frames.float().div_(255.0)
    cases = {
        "uint8 (what the reader does)": lambda: to_clip(frames, "bench", args.size, "stretch", "none", 3),
        "float": lambda: to_clip(as_float, "bench", args.size, "stretch", "none", 3),
    }
    times: dict[str, float] = {name: float("inf") for name in cases}
    for _ in range(5):  # interleaved, best of 5
        for name, fn in cases.items():
            times[name] = min(times[name], best_time(fn, 1))
    diff = float((cases["uint8 (what the reader does)"]() - cases["float"]()).abs().max()) * 255
    print(f"to_clip, {args.num_frames} x 3 x {h}x{w} -> {args.size}^2, stretch, best of 5 interleaved:")
    for name, seconds in times.items():
        print(f"  {name:30} {seconds * 1e3:7.1f} ms")
    print(f"  float / uint8 = {times['float'] / times['uint8 (what the reader does)']:.1f}x; largest difference {diff:.2f} / 255")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clips", type=int, default=8)
    p.add_argument("--source-frames", type=int, default=300, help="frames per generated clip (12 s at 25 fps)")
    p.add_argument("--source-size", type=int, nargs=2, default=[240, 320], metavar=("H", "W"))
    p.add_argument("--gop", type=int, default=25, help="keyframe interval of the generated clips")
    p.add_argument("--num-frames", type=int, default=16)
    p.add_argument("--size", type=int, default=112, help="reader/tokenizer frame size")
    p.add_argument("--preset", default="tiny", help="encoder preset (tiny, small, base, large)")
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--device", default="cpu")
    p.add_argument(
        "--threads", type=int, default=1,
        help="torch threads (default 1: on a shared 2-core machine 2 OpenMP threads made small ops 10x slower; 0: torch's default)",
    )
    p.add_argument("--only", choices=("resize",), help="resize: only the uint8 vs float transform of one clip")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print_machine()
    if args.only == "resize":
        bench_resize(args)
        return
    device = torch.device(args.device)

    video = metaframe.get_modality("video")
    encoder = metaframe.FrozenEncoder.from_preset(args.preset, seed=0).to(device)
    tokenizer = video.build_tokenizer(embed_dim=encoder.embed_dim, num_frames=args.num_frames, image_size=args.size)
    tokenizer = tokenizer.to(device).eval()
    pick = lambda total: frame_indices(total, args.num_frames)  # noqa: E731
    results: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_clips(Path(tmp), args.clips, args.source_frames, tuple(args.source_size), args.gop)
        n = len(paths)
        counts = {}
        for label, seek in (("decode, seek to sampled frames", True), ("decode, in order up to the last sampled frame", False)):
            rate = n / best_time(lambda: [decode_video_frames(q, pick, seek=seek) for q in paths], 2)
            counts[label] = np.mean([decode_video_frames(q, pick, seek=seek)[1].decoded for q in paths])
            results.append((label, rate))
        clips: list[torch.Tensor] = []
        results.append(("read (decode + resize + normalise)", n / best_time(lambda: clips.__setitem__(slice(None), [video.read(q, num_frames=args.num_frames, size=args.size) for q in paths]), 2)))
        batches = [video.collate(clips[i : i + args.batch]).to(device) for i in range(0, n, args.batch)]
        sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
        tokens: list[torch.Tensor] = []

        def tokenize() -> None:
            tokens[:] = [tokenizer(b).tokens for b in batches]
            sync()

        def encode() -> None:
            for t in tokens:
                encoder(torch.cat([t[:, :1], t], dim=1))
            sync()

        with torch.inference_mode():
            tokenize()  # warm-up
            results.append(("tokenize (tubelet Conv3d + positions)", n / best_time(tokenize, 3)))
            encode()
            results.append((f"encoder {args.preset} ({tokenizer.num_tokens + 1} tokens)", n / best_time(encode, 2)))
    read_rate = results[2][1]
    tok_rate = results[3][1]
    enc_rate = results[4][1]
    pipeline = 1 / (1 / read_rate + 1 / tok_rate)
    print(f"device {device}")
    print(
        f"clips: {n} x {args.source_frames} frames {args.source_size[0]}x{args.source_size[1]} libx264 gop {args.gop}; "
        f"read {args.num_frames} frames at {args.size}^2, batch {args.batch}"
    )
    print("| stage | clips/s | frames decoded per clip |\n| --- | ---: | ---: |")
    for name, rate in results:
        decoded = f"{counts[name]:.0f}" if name in counts else ""
        print(f"| {name} | {rate:.2f} | {decoded} |")
    print(f"| read + tokenize, one process | {pipeline:.2f} | |")
    print(f"\nread + tokenize / encoder throughput: {pipeline / enc_rate:.2f}x "
          f"({'the encoder is the bottleneck' if pipeline > enc_rate else 'decoding is the bottleneck'})")


if __name__ == "__main__":
    main()
