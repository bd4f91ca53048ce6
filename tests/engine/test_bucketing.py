"""Batching by length: every sample once per epoch, the same batches on every rank, less padding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import metaframe
from metaframe.engine.bucketing import LengthBucketSampler, padding_fraction, probe_length, sorted_batches
from metaframe.engine.loader import EpochBatchSampler
from toy_tokenizers import LengthsTokenizer


def skewed_lengths(n: int, seed: int = 0) -> np.ndarray:
    """Most samples short, a few long (a log-normal tail), as texts and recordings are."""
    return np.random.default_rng(seed).lognormal(3.0, 1.0, size=n).astype(np.int64) + 1


@pytest.mark.parametrize("size, batch, world", [(103, 8, 1), (96, 8, 2), (120, 12, 3)])
def test_every_sample_exactly_once_per_epoch_and_ranks_get_equal_batch_counts(size: int, batch: int, world: int) -> None:
    lengths = skewed_lengths(size)
    for epoch in (0, 1):
        ranks = [LengthBucketSampler(lengths, batch, seed=3, rank=r, world=world, pool_batches=4) for r in range(world)]
        seen: list[int] = []
        for sampler in ranks:
            sampler.set_epoch(epoch)
            seen += [i for b in sampler for i in b]
        assert sorted(seen) == list(range(size))
        assert len({len(list(s)) for s in ranks}) == 1, "every rank must step the same number of times"


def test_batches_are_seeded_differ_by_epoch_and_resume_mid_epoch() -> None:
    lengths = skewed_lengths(200)
    a, b = LengthBucketSampler(lengths, 10, seed=1), LengthBucketSampler(lengths, 10, seed=1)
    assert list(a) == list(b)
    a.set_epoch(1)
    assert list(a) != list(b)
    full = list(a)
    a.set_epoch(1, start_batch=5)
    assert list(a) == full[5:]


def test_bucketing_cuts_the_padding_of_a_skewed_length_distribution() -> None:
    lengths = skewed_lengths(2000)
    random_batches = [list(map(int, b)) for b in EpochBatchSampler(len(lengths), 32, seed=0).global_batches()]
    bucketed = [list(map(int, b)) for b in LengthBucketSampler(lengths, 32, seed=0).global_batches()]
    before, after = padding_fraction(lengths, random_batches), padding_fraction(lengths, bucketed)
    assert before > 0.5 and after < before / 3, (before, after)
    encode_order = sorted_batches(range(len(lengths)), lengths, 32)
    assert sorted(i for b in encode_order for i in b) == list(range(len(lengths)))
    assert padding_fraction(lengths, encode_order) <= after


def test_probe_length_of_files_strings_and_arrays(tmp_path: Path) -> None:
    small, large = tmp_path / "a.txt", tmp_path / "b.txt"
    small.write_text("short")
    large.write_text("much longer text " * 20)
    assert probe_length(small) < probe_length(large) == large.stat().st_size
    assert probe_length(str(large)) == large.stat().st_size
    assert probe_length("four") == 4 and probe_length(np.zeros((7, 3))) == 21
    assert probe_length({"a": np.zeros(5), "b": "xy"}) == 7
    assert probe_length(tmp_path / "missing.txt") == 0 and probe_length(object()) == 0


def _series(root: Path, lengths: list[int]) -> list[Path]:
    root.mkdir()
    rng = np.random.default_rng(0)
    paths = []
    for i, n in enumerate(lengths):
        np.save(root / f"s{i:02d}.npy", rng.normal(size=(n, 1)).astype(np.float32))
        paths.append(root / f"s{i:02d}.npy")
    return paths


def test_encode_buckets_by_default_pads_less_and_keeps_rows_in_input_order(tmp_path: Path) -> None:
    files = _series(tmp_path / "series", [8, 200, 8, 16, 200, 8, 16, 8, 200, 8, 16, 8])
    runs = {}
    for bucket in (False, True):
        torch.manual_seed(0)
        runs[bucket] = metaframe.encode(
            "time_series", files, tokenizer_options={"in_channels": 1}, batch_size=4, num_workers=0,
            quiet=True, bucket_by_length=bucket,
        )
    assert runs[True].sources == runs[False].sources == [str(f) for f in files]
    torch.testing.assert_close(runs[True].embeddings, runs[False].embeddings, atol=1e-4, rtol=1e-4)
    assert runs[False].padding_fraction > 0.5
    assert runs[True].padding_fraction < runs[False].padding_fraction / 2
    assert runs[True].real_tokens == runs[False].real_tokens


SEEN: list[list[tuple[int, int]]] = []
"""(sample id, length) of every batch the toy collate built, in order."""


def _read_ragged(source: object) -> torch.Tensor:
    return torch.as_tensor(np.load(source), dtype=torch.float32)  # [L]: value 0 holds the sample's id


def _collate_ragged(samples: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    SEEN.append([(int(s[0]), len(s)) for s in samples])
    width = max(len(s) for s in samples)
    values = torch.zeros(len(samples), width, 3)
    for i, s in enumerate(samples):
        values[i, : len(s)] = s[:, None] / 100
    return values, torch.tensor([len(s) for s in samples])


def _ragged_tokenizer(embed_dim: int) -> torch.nn.Module:
    return LengthsTokenizer(embed_dim)


def test_train_with_bucket_by_length_pads_less_and_sees_every_sample_once_per_epoch(register_modality, tmp_path: Path) -> None:
    register_modality("ragged", inputs=["file"], extensions=[".npy"], reader=_read_ragged, collate=_collate_ragged,
                      tokenizer=_ragged_tokenizer)
    rng = np.random.default_rng(0)
    lengths = skewed_lengths(48, seed=1).clip(2, 300)
    for i, n in enumerate(lengths):
        folder = tmp_path / "data" / ("a" if i % 2 else "b")
        folder.mkdir(parents=True, exist_ok=True)
        values = rng.normal(size=n).astype(np.float32)
        values[0] = i
        np.save(folder / f"{i:02d}.npy", values)
    padding = {}
    for bucket in (False, True):
        SEEN.clear()
        config = {
            "modality": "ragged", "encoder": {"embed_dim": 16, "depth": 1, "num_heads": 2},
            "data": {"train": str(tmp_path / "data"), "val_fraction": 0.25, "bucket_by_length": bucket},
            "epochs": 2, "batch_size": 6, "device": "cpu", "output_dir": str(tmp_path / f"run-{bucket}"),
        }
        metaframe.train(config, quiet=True)
        # per epoch: 36 training samples in 6 batches, then 12 validation samples in 2
        assert [len(b) for b in SEEN] == [6] * 16, [len(b) for b in SEEN]
        train_batches = SEEN[0:6] + SEEN[8:14]
        for epoch in (train_batches[:6], train_batches[6:]):
            ids = sorted(i for b in epoch for i, _ in b)
            assert len(ids) == 36 and len(set(ids)) == 36, "every training sample exactly once per epoch"
        real = sum(n for b in train_batches for _, n in b)
        padded = sum(len(b) * max(n for _, n in b) for b in train_batches)
        padding[bucket] = 1 - real / padded
    assert padding[True] < 0.6 * padding[False], padding  # 36 samples: small pools; encode sorts whole shards


def test_two_processes_with_bucket_by_length_match_one(tmp_path: Path) -> None:
    """torchrun, 2 gloo processes: each takes its half of every length-sorted global batch, so the
    weights equal a one-process run's (every rank steps the same number of times, or DDP would hang)."""
    import json

    import yaml
    from safetensors.torch import load_file

    from engine_helpers import run_module

    rng = np.random.default_rng(0)
    for i, n in enumerate(skewed_lengths(24, seed=2).clip(4, 160)):
        folder = tmp_path / "data" / ("up" if i % 2 else "down")
        folder.mkdir(parents=True, exist_ok=True)
        trend = np.linspace(0, 1, n) * (1 if i % 2 else -1)
        np.save(folder / f"{i:02d}.npy", (trend + 0.1 * rng.normal(size=n)).astype(np.float32)[:, None])
    config = {
        "modality": "time_series", "tokenizer": {"in_channels": 1},
        "encoder": {"embed_dim": 16, "depth": 1, "num_heads": 2},
        "data": {"train": str(tmp_path / "data"), "val_fraction": 0.25, "bucket_by_length": True},
        "epochs": 2, "batch_size": 6, "device": "cpu", "output_dir": str(tmp_path / "ddp"),
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    ddp = run_module(["torchrun", "--standalone", "--nproc-per-node", "2", "-m", "metaframe", "train", str(path), "-q"])
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    torch.set_num_threads(1)
    single = metaframe.train({**config, "output_dir": str(tmp_path / "single")}, quiet=True)

    def weights(run_dir: Path) -> dict[str, torch.Tensor]:
        pointer = json.loads((run_dir / "checkpoints" / "last.json").read_text())
        return load_file(str(run_dir / "checkpoints" / pointer["dir"] / "model.safetensors"))

    a, b = weights(tmp_path / "ddp"), weights(single.run_dir)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=1e-5)
