"""Throughput of the text plugin's batch tokenization (and of the tabular tokenizer), through the registry.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_text.py [--sentences 50000] [--repeats 5]

Text: read (a list of strings) + collate (CLIP BPE, HF tokenizers ``encode_batch``, padding, truncation
count) → sentences per second, for several batch sizes; the raw ``encode_batch`` call alone for
comparison. Tabular: collate + tokenizer forward (category lookup, standardisation) → rows per second.
Prints the median of ``--repeats`` runs, per wall-clock second and per CPU second, and the machine's load average (timings on a shared machine
are noisy: compare numbers from one run only).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time

from machine import print_machine

WORDS = (
    "a an the photo picture of cat dog man woman child bird car tree house street field river sky "
    "red green blue small large old young two three on in near under with running sitting standing "
    "playing walking eating looking at sunny cloudy beach park road city water grass snow"
).split()


def sentences(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choices(WORDS, k=rng.randint(5, 12))) for _ in range(n)]


def median_rate(fn, count: int, repeats: int) -> str:  # type: ignore[no-untyped-def]
    """Median items per wall-clock second, and per CPU second of this process (all its threads)."""
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(count / (time.perf_counter() - start))
        cpu.append(count / max(time.process_time() - start_cpu, 1e-9))
    return f"{statistics.median(wall):>10,.0f} /s wall  ({statistics.median(cpu):>9,.0f} per CPU-second)"


def bench_text(n: int, repeats: int) -> None:
    import metaframe
    from metaframe_text.vocab import load_vocab

    text = metaframe.get_modality("text")
    data = sentences(n)
    load_vocab("clip", 77, None)  # build once (about 0.1 s), outside the timing
    text.collate(text.read(data[:256]))
    print(f"text: {n:,} short sentences (5-12 words), CLIP BPE, context 77")
    for batch in (256, 1024, 8192):
        def run(batch: int = batch) -> None:
            for i in range(0, n, batch):
                text.collate(text.read(data[i : i + batch]))

        print(f"  read + collate, batch {batch:>5}: {median_rate(run, n, repeats)}")
    vocab = load_vocab("clip", 77, None)
    print(f"  encode_batch alone (all at once):   {median_rate(lambda: vocab.encode_batch(data), n, repeats)}")


def bench_normalizers(n: int, repeats: int) -> None:
    """CLIP's cleaning as Python ``str`` methods (what the plugin does) against a chain of HF normalizers.

    The chain is the plugin's earlier implementation, rebuilt here: NFC, one ``Replace`` per
    ftfy quote / ligature fix, whitespace collapsing, strip, lowercase, on a copy of the same
    tokenizer. Both must give the same ids on the benchmark sentences (checked).
    """
    from tokenizers import Regex, Tokenizer, normalizers

    from metaframe_text.vocab import FTFY_TABLE, load_vocab

    vocab = load_vocab("clip", 77, None)
    chained = Tokenizer.from_str(vocab.tokenizer.to_str())
    chained.normalizer = normalizers.Sequence(
        [normalizers.NFC()]
        + [normalizers.Replace(chr(k), v) for k, v in FTFY_TABLE.items()]
        + [normalizers.Replace(Regex(r"\s+"), " "), normalizers.Strip(), normalizers.Lowercase()]
    )
    data = [s.capitalize() + "  “quoted”" if i % 4 == 0 else s for i, s in enumerate(sentences(n))]
    assert [e.ids for e in vocab.encode_batch(data[:2000])] == [e.ids for e in chained.encode_batch(data[:2000])]
    print(f"cleaning: {n:,} sentences (a quarter capitalised with curly quotes), {len(FTFY_TABLE)} Replace normalizers, same ids")
    python_rate = median_rate(lambda: vocab.encode_batch(data), n, repeats)
    chain_rate = median_rate(lambda: chained.encode_batch(data), n, repeats)
    print(f"  str methods + encode_batch:        {python_rate}")
    print(f"  HF normalizer chain, encode_batch: {chain_rate}")


def bench_tabular(n: int, repeats: int) -> None:
    import torch

    import metaframe

    tabular = metaframe.get_modality("tabular")
    rng = random.Random(0)
    jobs = [f"job{i}" for i in range(20)]
    rows = [
        {f"num{j}": rng.random() for j in range(6)} | {f"cat{j}": rng.choice(jobs) for j in range(8)}
        for _ in range(n)
    ]
    tok = tabular.build_tokenizer(embed_dim=64)
    tok.fit(rows[:1000])  # type: ignore[operator]
    batch = 256

    def run() -> None:
        with torch.no_grad():
            for i in range(0, n, batch):
                tok(tabular.collate(rows[i : i + batch]))

    print(f"tabular: {n:,} rows x 14 columns (6 numeric, 8 categorical), embed_dim 64, batch {batch}")
    print(f"  collate + tokenizer forward:       {median_rate(run, n, repeats)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=50_000)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", choices=("text", "normalizers", "tabular"), help="run one part (default: all)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (tabular forward)")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    print_machine()
    print(f"TOKENIZERS_PARALLELISM={os.environ.get('TOKENIZERS_PARALLELISM', '(unset: parallel)')}")
    if args.only in (None, "text"):
        bench_text(args.sentences, args.repeats)
    if args.only in (None, "normalizers"):
        bench_normalizers(args.sentences, args.repeats)
    if args.only in (None, "tabular"):
        bench_tabular(args.rows, args.repeats)
    print(f"load average {os.getloadavg()[0]:.1f} at end")


if __name__ == "__main__":
    main()
