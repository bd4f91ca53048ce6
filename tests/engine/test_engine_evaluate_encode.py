"""Evaluation reports and encoding files to embeddings, from Python and the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import metaframe
from engine_helpers import run_module, tiny_config


@pytest.fixture
def trained_run(image_folders: Path, tmp_path: Path) -> Path:
    return metaframe.train(tiny_config(image_folders, tmp_path / "run", epochs=2), quiet=True).run_dir


def test_evaluate_cli_writes_report_and_confusion_matrix(trained_run: Path, image_folders: Path, tmp_path: Path) -> None:
    done = run_module(["metaframe", "evaluate", str(trained_run), "--data", str(image_folders), "--out", str(tmp_path / "ev"), "-q"])
    assert done.returncode == 0, done.stderr
    assert "accuracy" in done.stdout and "macro-F1" in done.stdout
    report = json.loads((tmp_path / "ev" / "report.json").read_text())
    head = report["heads"]["label"]
    assert report["count"] == 24 and head["classes"] == ["cat", "dog"]
    matrix = np.array(head["confusion_matrix"])
    assert matrix.sum() == 24 and list(matrix.sum(1)) == [12, 12]  # rows are the true classes
    assert head["accuracy"] == pytest.approx(np.trace(matrix) / 24)
    assert 0.0 <= head["macro_f1"] <= 1.0
    assert json.loads((tmp_path / "ev" / "confusion_label.json").read_text())["matrix"] == head["confusion_matrix"]
    assert (tmp_path / "ev" / "confusion_label.png").read_bytes()[:4] == b"\x89PNG"


def test_evaluate_names_an_unknown_label(trained_run: Path, tmp_path: Path) -> None:
    from engine_helpers import write_image_folders

    other = write_image_folders(tmp_path / "other", per_class=1)
    (other / "dog").rename(other / "horse")
    with pytest.raises(metaframe.ConfigError, match="'horse'"):
        metaframe.evaluate(trained_run, other, quiet=True)


def test_encode_with_a_run_matches_the_model(trained_run: Path, image_folders: Path, tmp_path: Path) -> None:
    files = sorted((image_folders / "cat").glob("*.png"))[:5]
    result = metaframe.encode(
        "image", files, tmp_path / "emb.safetensors", run=trained_run, batch_size=2, num_workers=0, quiet=True, pooling="cls"
    )
    assert result.ok and result.sources == [str(f) for f in files]
    stored = load_file(str(tmp_path / "emb.safetensors"))["embeddings"]
    model = metaframe.load_run(trained_run)
    image = metaframe.get_modality("image")
    with torch.no_grad():
        expected = model.encode({"image": image.collate([image.read(f, size=8) for f in files])}).cls
    torch.testing.assert_close(stored, expected)
    index = json.loads((tmp_path / "emb.safetensors.json").read_text())
    assert index["rows"] == [str(f) for f in files] and index["failed"] == []


def test_encode_cli_stops_or_skips_on_an_unreadable_file(image_folders: Path, tmp_path: Path) -> None:
    bad = image_folders / "cat" / "broken.png"
    bad.write_bytes(b"not a png")
    out = tmp_path / "emb.npy"
    stopped = run_module(["metaframe", "encode", "image", str(image_folders), "--out", str(out), "--preset", "tiny", "-q"])
    assert stopped.returncode == 1
    assert f"{bad}: not an image" in stopped.stderr and "--skip-errors" in stopped.stderr
    assert "FRESHLY INITIALISED" in stopped.stderr
    assert not out.exists()
    skipped = run_module(
        ["metaframe", "encode", "image", str(image_folders), "--out", str(out), "--skip-errors", "-q", "--batch-size", "8"]
    )
    assert skipped.returncode == 1, skipped.stderr  # something failed, and the status says so
    assert f"skipped {bad}" in skipped.stderr
    embeddings = np.load(out)
    index = json.loads(Path(str(out) + ".json").read_text())
    assert embeddings.shape == (24, 192) and len(index["rows"]) == 24
    assert str(bad) not in index["rows"] and index["failed"][0]["source"] == str(bad)
    assert index["tokenizer"].startswith("freshly initialised")


@pytest.mark.skipif(
    "time_series" not in metaframe.list_modalities(), reason="exercises the time_series plugin (its dataset and head)"
)
def test_forecasting_run_reports_mae_and_mse(tmp_path: Path) -> None:
    """A plugin dataset of forecasting windows and a plugin head (time_series 'forecast')."""
    t = np.arange(160)
    np.save(tmp_path / "series.npy", np.stack([np.sin(t / 5), np.cos(t / 7)], 1).astype(np.float32))
    config = {
        "modality": "time_series",
        "tokenizer": {"mode": "patch", "in_channels": 2, "patch_len": 8, "stride": 8},
        "encoder": {"embed_dim": 32, "depth": 2, "num_heads": 2},
        "head": {"kind": "forecast", "target": "future", "options": {"horizon": 8, "channels": 2}},
        "data": {"train": str(tmp_path / "series.npy"), "format": "dataset",
                 "dataset_options": {"input_length": 32, "horizon": 8, "stride": 4}},
        "epochs": 1, "batch_size": 8, "device": "cpu", "output_dir": str(tmp_path / "run"),
    }
    result = metaframe.train(config, quiet=True)
    report = metaframe.evaluate(result.run_dir, tmp_path / "series.npy", quiet=True)
    head = report["heads"]["future"]
    assert head["task"] == "regression" and head["count"] == 31  # (160 - 32 - 8) / 4 + 1 windows
    assert head["mse"] == pytest.approx(head["loss"]) and head["mae"] > 0
    assert "accuracy" not in head


def test_encode_pools_as_the_runs_head_by_default(register_modality, tmp_path: Path) -> None:
    from engine_helpers import toy_config, toy_fields, write_toy_manifest

    register_modality("toy", **toy_fields())
    manifest = write_toy_manifest(tmp_path / "data", rows=8, columns=("path",))
    config = toy_config(manifest, tmp_path / "run", head={"kind": "classification", "options": {"pooling": "max"}})
    run = metaframe.train(config, quiet=True).run_dir
    files = sorted((tmp_path / "data").glob("*.npy"))
    default = metaframe.encode("toy", files, run=run, quiet=True, num_workers=0)
    model = metaframe.load_run(run)
    toy = metaframe.get_modality("toy")
    with torch.no_grad():
        encoded = model.encode({"toy": toy.collate([toy.read(f) for f in files])})
        pooled = model.heads["label"].pool(encoded)
    torch.testing.assert_close(default.embeddings, pooled)
    cls = metaframe.encode("toy", files, run=run, quiet=True, num_workers=0, pooling="cls")
    assert not torch.allclose(cls.embeddings, pooled)
