"""``metaframe search INDEX --query FILE_OR_TEXT --modality M``: nearest rows of an index in an aligned space."""

from __future__ import annotations

import argparse
from typing import Any

HELP = "search an index of embeddings with a query embedded by an aligned run"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "search",
        help=HELP,
        description=HELP + ". INDEX is what `metaframe encode MODALITY FILES --run ALIGNED_RUN --out INDEX` wrote "
        "(or an Index.save file). The query is embedded with the run the index records (or --run); an index built "
        "with another run or encoder is refused. Prints rank, score, id and source of the best rows.",
    )
    p.add_argument("index", metavar="INDEX", help="embeddings file (.safetensors / .npy) with its INDEX.json, or a folder of shards (encode --out DIR)")
    p.add_argument("--query", required=True, metavar="FILE_OR_TEXT", help="a file of --modality, or the text itself")
    p.add_argument("--modality", required=True, help="the query's modality (one the run aligns, e.g. text)")
    p.add_argument("-k", type=int, default=10, help="how many rows to return (default: 10)")
    p.add_argument("--run", default=None, metavar="RUN_DIR", help="the aligned run embedding the query (default: the run the index records)")
    p.add_argument("--backend", choices=("exact", "faiss"), default="exact",
                   help="exact (default: chunked matrix product) or faiss (approximate HNSW; needs faiss-cpu)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--device", default="auto", help="auto (CUDA when available, else CPU), cpu, cuda, cuda:N, mps (default: auto)")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def run(args: argparse.Namespace) -> int:
    import json

    from metaframe.space import as_query, open_index, search

    index = open_index(args.index, backend=args.backend)
    result = search(index, as_query(args.query, args.modality), args.modality, k=args.k, run=args.run, device=args.device)
    rows = [
        {"rank": r + 1, "score": float(score), "id": id_, "source": source}
        for r, (score, id_, source) in enumerate(zip(result.scores[0].tolist(), result.ids[0], result.sources[0]))
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            same = row["source"] == row["id"]
            print(f"{row['rank']:>3}  {row['score']:.4f}  {row['id']}" + ("" if same else f"  {row['source']}"))
    return 0
