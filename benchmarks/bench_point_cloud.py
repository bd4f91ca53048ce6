"""Point-cloud tokenization cost: FPS, kNN and PointPatchEmbed against `fpsample` and the encoder.

One run, one batch of 32 clouds at two sizes: 1,024 points (256 centres) and 8,192 points
(2,048 centres), k = 32. Times are the best of ``--repeat`` runs (the machine is shared).

    pip install -e 'plugins/point_cloud[bench]'     # fpsample, a compiled FPS library
    OMP_NUM_THREADS=2 python benchmarks/bench_point_cloud.py --threads 2 --preset tiny
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

import metaframe
from metaframe_point_cloud import farthest_point_sample, knn
from metaframe_point_cloud.sampling import BUCKETED_MIN_WORK, DEFAULT_KNN_BYTES
from machine import print_machine
from timing import best_of


def fpsample_batch(clouds: np.ndarray, n: int, kind: str) -> np.ndarray:
    import fpsample

    if kind == "vanilla":
        return np.stack([fpsample.fps_sampling(c, n, start_idx=0) for c in clouds])
    return np.stack([fpsample.bucket_fps_kdline_sampling(c, n, h=7, start_idx=0) for c in clouds])


def run(points: int, centers: int, args: argparse.Namespace, encoder: torch.nn.Module) -> list[tuple[str, float, str]]:
    gen = torch.Generator().manual_seed(0)
    xyz = torch.randn(args.batch, points, 3, generator=gen)
    xyz = xyz / xyz.norm(dim=-1).amax(-1, keepdim=True)[..., None]
    clouds = xyz.numpy()
    repeat = args.repeat if points <= 2048 else max(1, args.repeat // 2)
    rows: list[tuple[str, float, str]] = []

    t_fps, ours = best_of(lambda: farthest_point_sample(xyz, centers), repeat)
    rows.append(("FPS, metaframe_point_cloud (torch, batched)", t_fps, ""))
    try:
        t_ref, ref = best_of(lambda: fpsample_batch(clouds, centers, "vanilla"), repeat)
        same = float((torch.from_numpy(ref.astype(np.int64)) == ours).all(1).float().mean())
        rows.append(("FPS, fpsample.fps_sampling (C++, loop over clouds)", t_ref, f"ours / fpsample = {t_fps / t_ref:.2f}; identical indices in {same:.0%} of clouds"))
        t_kd, _ = best_of(lambda: fpsample_batch(clouds, centers, "kdline"), repeat)
        rows.append(("FPS, fpsample.bucket_fps_kdline_sampling (h=7)", t_kd, "kd-tree bucketed FPS, for context"))
    except ImportError:
        rows.append(("FPS, fpsample", float("nan"), "not installed: pip install 'metaframe-point-cloud[bench]'"))

    center_xyz = xyz.gather(1, ours.unsqueeze(-1).expand(-1, -1, 3))
    block = min(centers, max(1, DEFAULT_KNN_BYTES // (2 * args.batch * points * 4)))
    t_knn, _ = best_of(lambda: knn(xyz, center_xyz, args.k), repeat)
    whole = args.batch * centers * points * 4 / 2**20
    rows.append(("kNN k=32 (chunked)", t_knn, f"{block} centres per chunk: {2 * args.batch * block * points * 4 / 2**20:.0f} MiB live vs {whole:,.0f} MiB in one piece"))

    torch.manual_seed(0)
    tok = metaframe.get_modality("point_cloud").build_tokenizer(embed_dim=encoder.embed_dim, k=args.k).eval()
    with torch.no_grad():
        t_tok, tb = best_of(lambda: tok(xyz), repeat)
        rows.append(("PointPatchEmbed forward (FPS + kNN + mini-PointNet + positions)", t_tok, f"{tb.num_tokens} tokens per cloud; MLP + positions = {max(t_tok - t_fps - t_knn, 0):.3f} s"))
        tokens = torch.cat([torch.zeros(args.batch, 1, encoder.embed_dim), tb.tokens], 1)
        mask = torch.cat([torch.ones(args.batch, 1, dtype=torch.bool), tb.valid_mask], 1)
        t_enc, _ = best_of(lambda: encoder(tokens, mask), 1)
        rows.append((f"frozen encoder forward ({args.preset}, {tokens.shape[1]} tokens)", t_enc, f"tokenizer / encoder = {t_tok / t_enc:.2f}"))
    return rows


def bench_fps_methods(args: argparse.Namespace) -> None:
    """Dense against bucketed FPS (same indices) per cloud size, and the argmax call the dense loop avoids."""
    print(f"\nFPS methods, batch {args.batch}, centres = points / 4, best of {args.repeat} (interleaved)\n")
    print("| points | dense (s) | bucketed (s) | dense / bucketed | auto picks |\n|---:|---:|---:|---:|---|")
    for points in (int(s) for s in args.sizes.split(",")):
        xyz = torch.randn(args.batch, points, 3, generator=torch.Generator().manual_seed(0))
        best = {"dense": float("inf"), "bucketed": float("inf")}
        out = {}
        for _ in range(args.repeat):
            for method in best:
                t, out[method] = best_of(lambda m=method: farthest_point_sample(xyz, points // 4, method=m), 1)
                best[method] = min(best[method], t)
        assert torch.equal(out["dense"], out["bucketed"]), "dense and bucketed FPS disagree"
        auto = "bucketed" if args.batch * points >= BUCKETED_MIN_WORK else "dense"
        print(f"| {points:,} | {best['dense']:.3f} | {best['bucketed']:.3f} | {best['dense'] / best['bucketed']:.2f} | {auto} |", flush=True)
    dist = torch.rand(args.batch, 1024, generator=torch.Generator().manual_seed(1))
    calls = 2000
    t_argmax = min(best_of(lambda: [dist.argmax(1) for _ in range(calls)], 1)[0] for _ in range(args.repeat))
    t_max = min(best_of(lambda: [dist.max(1).indices for _ in range(calls)], 1)[0] for _ in range(args.repeat))
    print(f"\nper call on [{args.batch}, 1024] float32: argmax(1) {t_argmax / calls * 1e6:.1f} us, "
          f"max(1).indices {t_max / calls * 1e6:.1f} us ({t_argmax / t_max:.1f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--k", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--preset", default="tiny", help="encoder preset for the encoder step (tiny or base)")
    parser.add_argument("--sizes", default="1024,8192", help="points per cloud; centres = points / 4")
    parser.add_argument("--only", choices=("fps",), help="fps: only dense vs bucketed FPS (try --sizes 1024,4096,8192)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.only == "fps":
        print_machine()
        bench_fps_methods(args)
        return
    encoder = metaframe.FrozenEncoder.from_preset(args.preset, seed=0)
    print_machine()
    print(f"# batch {args.batch}, k {args.k}, encoder {args.preset}")
    for points in (int(s) for s in args.sizes.split(",")):
        print(f"\n{points} points, {points // 4} centres\n\n| stage | s | note |\n|---|---:|---|")
        for name, seconds, note in run(points, points // 4, args, encoder):
            print(f"| {name} | {seconds:.3f} | {note} |", flush=True)


if __name__ == "__main__":
    main()
