"""metaframe.Index: exact vs FAISS HNSW search, queries per second and recall@10 of HNSW against exact.

Usage: .venv/bin/python benchmarks/bench_index.py [--sizes 10000 100000 1000000] [--dim 256] [--queries 256] [--faiss-max 100000]
Random Gaussian vectors (cosine); each size is searched with the same queries, k=10, best of 3
searches. The exact search's ``chunk_rows`` bound keeps the score matrix at queries x chunk,
whatever the index size. HNSW (``faiss_factory="HNSW32"``) is timed for search only; its build
time is printed apart. Random vectors are the hard case for an approximate index (no cluster
structure), so its recall here is a floor, not what real embeddings get.
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
    parser.add_argument("--faiss-max", type=int, default=100_000, help="build HNSW only up to this many vectors (its build is slow on 2 cores)")
    args = parser.parse_args()
    print_machine()
    gen = torch.Generator().manual_seed(0)
    queries = torch.randn(args.queries, args.dim, generator=gen)
    print("| vectors | dim | exact queries/s | HNSW32 queries/s | HNSW32 build s | HNSW32 recall@10 vs exact |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for n in args.sizes:
        index = Index(args.dim)
        for start in range(0, n, 100_000):
            index.add(torch.randn(min(100_000, n - start), args.dim, generator=gen))
        exact, exact_s = best_of(lambda: index.search(queries, k=10, chunk_rows=args.chunk_rows))
        if n > args.faiss_max:
            print(f"| {n:,} | {args.dim} | {args.queries / exact_s:,.0f} | - | - | - |")
            continue
        approx = Index(args.dim, backend="faiss", faiss_factory="HNSW32")
        approx.add(index.vectors, ids=index.ids)
        t = time.perf_counter()
        approx.search(queries[:1], k=10)  # builds the graph
        build_s = time.perf_counter() - t
        found, approx_s = best_of(lambda: approx.search(queries, k=10))
        recall = sum(len(set(a) & set(b)) for a, b in zip(exact.ids, found.ids)) / (10 * len(exact.ids))
        print(f"| {n:,} | {args.dim} | {args.queries / exact_s:,.0f} | {args.queries / approx_s:,.0f} | {build_s:.1f} | {recall:.3f} |")


def best_of(run, repeat: int = 3):  # type: ignore[no-untyped-def]
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = run()
        best = min(best, time.perf_counter() - t)
    return out, best


if __name__ == "__main__":
    main()
