"""Reading training samples from WebDataset shards vs from a class folder (image, JPEG).

Usage: .venv/bin/python benchmarks/bench_shard_reading.py [--samples 512] [--size 256] [--per-shard 64]
Writes --samples random JPEGs (--size px) as class folders, then as shards (``write_shards``), and
reads + decodes every training sample (image reader, 224 px, ImageNet normalisation) the three
ways the engine does, in one process, best of 2: the class folder (``ExampleDataset``, one file a
sample), the shards streamed (``ShardStream``: each shard read start to end, members decoded via a
temporary file), the shards by random access (``MemberRef``: validation, evaluate); then one
JPEG read from its file vs decoded as a member (through a temporary file); then the cost of
setup's index (``examples_from_shards``: headers and labels) per sample. Decoding
dominates; the ratio is the cost of the shard path, not the benefit of shards on a network
filesystem or object store (where one sequential read a shard replaces one open a file).
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from pathlib import Path

import numpy as np

from machine import print_machine

from metaframe.api import get_modality
from metaframe.engine.config import parse_config
from metaframe.engine.data import build_label_maps, load_examples
from metaframe.engine.loader import ExampleDataset
from metaframe.engine.shard_data import ShardEpochPlan, ShardExampleDataset, ShardStream, examples_from_shards, shard_layout
from metaframe.engine.shard_writer import brace_pattern, samples_from_folder, write_shards
from metaframe.engine.shards import ShardSample, decode_member


def write_folder(root: Path, count: int, size: int) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(count):
        folder = root / ("a" if i % 2 else "b")
        folder.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        Image.fromarray(rng.integers(0, 255, (size, size, 3)).astype(np.uint8)).save(buffer, "JPEG", quality=90)
        (folder / f"{i:05d}.jpg").write_bytes(buffer.getvalue())


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=512)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--per-shard", type=int, default=64)
    parser.add_argument("--index-samples", type=int, default=20000, help="samples of the index-cost measurement")
    args = parser.parse_args()
    print_machine()
    with tempfile.TemporaryDirectory(prefix="bench-shards-") as tmp:
        run(Path(tmp), args)


def run(root: Path, args: argparse.Namespace) -> None:
    write_folder(root / "images", args.samples, args.size)
    samples, _ = samples_from_folder(root / "images")
    pattern = brace_pattern(write_shards(samples, root / "shards", max_count=args.per_shard, quiet=True))
    modalities = {"image": get_modality("image")}
    readers = {"image": {"size": 224}}

    def dataset(source: str, kind: type) -> ExampleDataset:
        config = parse_config({"modality": "image", "reader": readers["image"], "data": {"train": source, "val_fraction": 0}})
        examples = load_examples(source, config)
        return kind(examples, modalities, readers, build_label_maps(config, examples), ["label"])

    folder = dataset(str(root / "images"), ExampleDataset)
    shards = dataset(pattern, ShardExampleDataset)
    plan = ShardEpochPlan(shard_layout(shards.examples), 1, seed=0)
    results = {
        "class folder (a file a sample)": timed(lambda: [folder[i] for i in range(len(folder))]),
        "shards, streamed (training)": timed(lambda: list(ShardStream(shards, plan))),
        "shards, random access (validation)": timed(lambda: [shards[i] for i in range(len(shards))]),
    }
    base = results["class folder (a file a sample)"]
    print(f"{args.samples} JPEGs {args.size}x{args.size}, {args.per_shard} a shard, 1 process, best of 2")
    print(f"{'source':38s} {'samples/s':>10s} {'time vs folder':>15s}")
    for name, seconds in results.items():
        print(f"{name:38s} {args.samples / seconds:10.1f} {seconds / base:14.2f}x")
    # one member through a temporary file (the image plugin reads paths) vs the same file read directly
    path = folder.examples[0].inputs["image"]
    data = path.read_bytes()
    reads = 300
    direct = timed(lambda: [modalities["image"].read(path, size=224) for _ in range(reads)]) / reads
    member = timed(lambda: [decode_member(modalities["image"], "jpg", data, readers["image"]) for _ in range(reads)]) / reads
    print(f"one JPEG: from its file {direct * 1e3:.2f} ms, as a member (temporary file) {member * 1e3:.2f} ms, "
          f"{member / direct:.2f}x ({reads} reads, best of 2)")
    index_cost(root / "index", args.index_samples)


def index_cost(root: Path, count: int) -> None:
    """Setup's index of the training shards: headers read per second, memory kept per sample."""
    import tracemalloc

    members = (ShardSample(f"{i:08d}", "", {"jpg": b"x", "cls": str(i % 10).encode()}) for i in range(count))
    pattern = brace_pattern(write_shards(members, root, max_count=1000, quiet=True))
    config = parse_config({"modality": "image", "data": {"train": pattern}})
    seconds = timed(lambda: examples_from_shards(pattern, config))
    tracemalloc.start()
    examples = examples_from_shards(pattern, config)
    kept = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    print(f"index of {len(examples)} samples (2 members each, 1000 a shard): {count / seconds:.0f} samples/s, "
          f"{kept / count:.0f} bytes a sample kept (best of 2)")


if __name__ == "__main__":
    main()
