"""metaframe.Index: exact vs FAISS search, queries per second and recall@10 of FAISS against exact.

Usage: .venv/bin/python benchmarks/bench_index.py [--sizes 10000 100000 1000000] [--dim 256] [--queries 256]
       [--faiss-max 100000] [--factory HNSW32 | --factory ivf] [--params nprobe=16] [--clusters 0]
Random Gaussian vectors (cosine), or with ``--clusters C`` a mixture of C Gaussian clusters (spread
0.5 around unit-norm centres; queries drawn the same way), closer to real embeddings, which have
structure. Each size is searched with the same queries, k=10, best of 3 searches. The exact
search's ``chunk_rows`` bound keeps the score matrix at queries x chunk, whatever the index size.
The FAISS index is timed for search only; its build (training and adding) is printed apart.
``--factory ivf`` picks ``IVF{sqrt(n)},Flat`` per size (the low end of FAISS's advice for the number
of lists, so that k-means training stays within minutes on 2 cores). Random vectors are the hard case for an approximate index (no cluster structure), so its
recall there is a floor.
"""

from __future__ import annotations

import argparse
import time

import torch

from machine import print_machine

from metaframe.index import Index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--queries", type=int, default=256)
    parser.add_argument("--chunk-rows", type=int, default=65536)
    parser.add_argument("--faiss-max", type=int, default=100_000, help="build the FAISS index only up to this many vectors (HNSW's build is slow on 2 cores)")
    parser.add_argument("--factory", default="HNSW32", help="faiss.index_factory string, or 'ivf' for IVF{sqrt(n)},Flat per size")
    parser.add_argument("--params", default=None, help="faiss.ParameterSpace string, e.g. nprobe=16 (default: metaframe.Index's)")
    parser.add_argument("--clusters", type=int, default=0, help="draw vectors from this many Gaussian clusters (0: plain Gaussian)")
    args = parser.parse_args()
    print_machine()
    gen = torch.Generator().manual_seed(0)
    centres = torch.nn.functional.normalize(torch.randn(args.clusters, args.dim, generator=gen), dim=1) if args.clusters else None

    def draw(rows: int) -> torch.Tensor:
        if centres is None:
            return torch.randn(rows, args.dim, generator=gen)
        pick = torch.randint(0, args.clusters, (rows,), generator=gen)
        return centres[pick] + 0.5 / args.dim**0.5 * torch.randn(rows, args.dim, generator=gen)

    queries = draw(args.queries)
    print(f"data: {'%d clusters' % args.clusters if args.clusters else 'random Gaussian'}; factory {args.factory}; params {args.params}")
    print("| vectors | dim | exact queries/s | FAISS index | FAISS queries/s | FAISS build s | FAISS recall@10 vs exact |")
    print("| ---: | ---: | ---: | --- | ---: | ---: | ---: |")
    for n in args.sizes:
        index = Index(args.dim)
        for start in range(0, n, 100_000):
            index.add(draw(min(100_000, n - start)))
        exact, exact_s = best_of(lambda: index.search(queries, k=10, chunk_rows=args.chunk_rows))
        if n > args.faiss_max:
            print(f"| {n:,} | {args.dim} | {args.queries / exact_s:,.0f} | - | - | - | - |")
            continue
        factory = f"IVF{int(n ** 0.5)},Flat" if args.factory == "ivf" else args.factory
        approx = Index(args.dim, backend="faiss", faiss_factory=factory, faiss_params=args.params)
        approx.add(index.vectors, ids=index.ids)
        t = time.perf_counter()
        approx.search(queries[:1], k=10)  # builds the graph
        build_s = time.perf_counter() - t
        found, approx_s = best_of(lambda: approx.search(queries, k=10))
        recall = sum(len(set(a) & set(b)) for a, b in zip(exact.ids, found.ids)) / (10 * len(exact.ids))
        print(f"| {n:,} | {args.dim} | {args.queries / exact_s:,.0f} | {factory} | {args.queries / approx_s:,.0f} | {build_s:.1f} | {recall:.3f} |")


def best_of(run, repeat: int = 3):  # type: ignore[no-untyped-def]
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = run()
        best = min(best, time.perf_counter() - t)
    return out, best


if __name__ == "__main__":
    main()
