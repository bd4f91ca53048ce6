"""``metaframe shard``: folder / manifest → WebDataset shards → the same samples, and training on them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from cli_runner import run_cli
from metaframe.engine.shards import expand_shards, iter_shard_samples


def write_class_folder(root: Path, per_class: int = 6) -> Path:
    from PIL import Image

    rng = np.random.default_rng(0)
    for cls, offset in (("cat", 0), ("dog", 150)):
        (root / cls).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray((rng.integers(0, 90, (8, 8, 3)) + offset).astype(np.uint8)).save(root / cls / f"{i}.png")
    return root


def test_folder_to_shards_round_trip_and_train_on_them(tmp_path: Path) -> None:
    folder = write_class_folder(tmp_path / "images")
    (folder / "cat" / "notes.md").write_text("not an image")
    done = run_cli("shard", str(folder), "--out", str(tmp_path / "shards"), "--max-count", "5", "--modality", "image")
    assert done.returncode == 0, done.stderr
    pattern = done.stdout.strip().splitlines()[-1]
    assert pattern == str(tmp_path / "shards" / "shard-{000000..000002}.tar")
    samples = list(iter_shard_samples(expand_shards(pattern)))
    files = sorted(folder.glob("*/*.png"))
    assert [(s.members["cls"].decode(), s.members["png"]) for s in samples] == [(p.parent.name, p.read_bytes()) for p in files]

    config = tmp_path / "config.json"
    config.write_text(json.dumps({
        "modality": "image", "tokenizer": {"patch_size": 4, "image_size": 8}, "reader": {"size": 8},
        "encoder": {"embed_dim": 32, "depth": 1, "num_heads": 2}, "data": {"train": pattern, "val_fraction": 0.25},
        "epochs": 1, "batch_size": 3, "device": "cpu", "output_dir": str(tmp_path / "run"),
    }))
    trained = run_cli("train", str(config), "-q")
    assert trained.returncode == 0, trained.stderr
    evaluated = run_cli("evaluate", str(tmp_path / "run"), "--data", pattern, "-q")
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads((tmp_path / "run" / "eval" / "report.json").read_text())["count"] == 12


def test_manifest_to_shards_keeps_files_texts_and_other_columns(tmp_path: Path) -> None:
    (tmp_path / "a.wav").write_bytes(b"RIFF....")
    rows = [{"path": "a.wav", "caption": "a dog", "label": 1}, {"path": "free text", "caption": "x", "label": 0}]
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    done = run_cli("shard", str(tmp_path / "m.jsonl"), "--out", str(tmp_path / "s"), "--max-size", "1MB", "-q")
    assert done.returncode == 0, done.stderr
    samples = list(iter_shard_samples(expand_shards(done.stdout.strip())))
    assert samples[0].members == {"wav": b"RIFF....", "json": json.dumps({"caption": "a dog", "label": 1}).encode()}
    assert samples[1].members["txt"] == b"free text"


def test_shard_refuses_a_bad_size_and_a_full_folder(tmp_path: Path) -> None:
    folder = write_class_folder(tmp_path / "images", per_class=1)
    bad = run_cli("shard", str(folder), "--out", str(tmp_path / "s"), "--max-size", "huge")
    assert bad.returncode == 1 and "--max-size 'huge': expected a size like 64MB" in bad.stderr
    assert run_cli("shard", str(folder), "--out", str(tmp_path / "s"), "--max-count", "4", "-q").returncode == 0
    again = run_cli("shard", str(folder), "--out", str(tmp_path / "s"), "--max-count", "4")
    assert again.returncode == 1 and "already holds shards" in again.stderr
    neither = run_cli("shard", str(folder), "--out", str(tmp_path / "t"))
    assert neither.returncode == 1 and "--max-size or --max-count" in neither.stderr


def test_train_names_a_corrupt_member_or_skips_it(tmp_path: Path) -> None:
    from metaframe.engine.shard_writer import brace_pattern, write_shards
    from metaframe.engine.shards import ShardSample

    folder = write_class_folder(tmp_path / "images", per_class=4)
    samples = [ShardSample(f"{i:06d}", "", {"png": p.read_bytes(), "cls": p.parent.name.encode()})
               for i, p in enumerate(sorted(folder.glob("*/*.png")))]
    samples[5].members["png"] = b"not a png at all"
    pattern = brace_pattern(write_shards(samples, tmp_path / "shards", max_count=4, quiet=True))
    config = tmp_path / "config.json"
    config.write_text(json.dumps({
        "modality": "image", "tokenizer": {"patch_size": 4, "image_size": 8}, "reader": {"size": 8},
        "encoder": {"embed_dim": 32, "depth": 1, "num_heads": 2}, "data": {"train": pattern, "val_fraction": 0},
        "epochs": 1, "batch_size": 2, "device": "cpu", "output_dir": str(tmp_path / "run"),
    }))
    failed = run_cli("train", str(config), "-q")
    assert failed.returncode == 1 and f"{tmp_path / 'shards' / 'shard-000001.tar'}:000005.png:" in failed.stderr
    assert "Traceback" not in failed.stderr
    skipped = run_cli("train", str(config), "-q", "--skip-errors", "--output-dir", str(tmp_path / "run2"))
    assert skipped.returncode == 0, skipped.stderr
    assert "shard-000001.tar:000005.png" in skipped.stderr and "replaced by the previous sample" in skipped.stderr
