"""``encode --column``: manifests (CSV / JSONL / Parquet) as inputs, one row each, as training reads them."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import metaframe
from engine_helpers import run_module
from metaframe.engine.encode_shards import read_encoded


def _images(image_folders: Path) -> list[Path]:
    return sorted((image_folders / "cat").glob("*.png"))[:3] + sorted((image_folders / "dog").glob("*.png"))[:2]


def _encode(inputs: list, out: Path | None = None, **options):
    torch.manual_seed(0)  # the same fresh tokenizer each call
    return metaframe.encode("image", inputs, out, batch_size=2, num_workers=0, quiet=True, **options)


def _parquet(where: Path, /, **columns: list) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table(columns), where, row_group_size=2)  # several row groups
    return where


def test_a_parquet_manifest_of_paths_and_of_in_cell_bytes_encodes_as_the_files_do(image_folders: Path, tmp_path: Path) -> None:
    files = _images(image_folders)
    direct = _encode(files)
    relative = [str(f.relative_to(image_folders)) for f in files]  # resolved against the manifest's folder
    manifest = _parquet(image_folders / "m.parquet", path=relative, image=[f.read_bytes() for f in files], label=[0] * 5)
    by_path = _encode([manifest], column="path")
    by_bytes = _encode([manifest], column="image")
    torch.testing.assert_close(by_path.embeddings, direct.embeddings)
    torch.testing.assert_close(by_bytes.embeddings, direct.embeddings)
    assert by_path.sources == [f"{manifest}[{i}]" for i in range(5)]
    with pytest.raises(metaframe.ConfigError, match=r"m\.parquet: no column 'paths' \(--column\); found path, image, label"):
        _encode([manifest], column="paths")


def test_cli_csv_and_jsonl_manifests_name_their_rows_and_a_missing_column(image_folders: Path, tmp_path: Path) -> None:
    files = _images(image_folders)
    with open(tmp_path / "m.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "label"])
        writer.writerows([[str(f), "x"] for f in files])
    (tmp_path / "m.jsonl").write_text("".join(json.dumps({"file": str(f)}) + "\n" for f in files[:2]))
    out = tmp_path / "emb.npy"
    done = run_module(["metaframe", "encode", "image", str(tmp_path / "m.csv"), str(tmp_path / "m.jsonl"), files[0].as_posix(),
                       "--column", "file", "--out", str(out), "-q", "--batch-size", "2"])
    assert done.returncode == 0, done.stderr
    rows = json.loads(Path(f"{out}.json").read_text())["rows"]
    assert rows == [f"{tmp_path / 'm.csv'}:{line}" for line in range(2, 7)] + [f"{tmp_path / 'm.jsonl'}:{n}" for n in (1, 2)] + [str(files[0])]
    vectors = np.load(out)
    np.testing.assert_allclose(vectors[:5], _encode(files).embeddings.numpy(), atol=1e-5)
    np.testing.assert_allclose(vectors[5:7], vectors[:2], atol=1e-5)  # the JSONL rows: the same files
    np.testing.assert_allclose(vectors[7], vectors[0], atol=1e-5)  # a file next to the manifests

    missing = run_module(["metaframe", "encode", "image", str(tmp_path / "m.csv"), "--column", "path", "--out", str(out), "-q"])
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert f"{tmp_path / 'm.csv'}: no column 'path' (--column); found file, label" in missing.stderr
    none = run_module(["metaframe", "encode", "image", str(files[0]), "--column", "file", "--out", str(out), "-q"])
    assert none.returncode == 1 and "--column file: none of the inputs is a manifest file" in none.stderr


def test_folder_output_from_a_manifest_resumes_and_refuses_an_edited_manifest(image_folders: Path, tmp_path: Path) -> None:
    files = _images(image_folders)
    manifest = _parquet(tmp_path / "m.parquet", path=[str(f) for f in files])
    out = tmp_path / "emb"
    first = _encode([manifest], out, column="path", shard_size=2)
    assert (first.encoded, first.resumed) == (5, 0)
    stored = read_encoded(out)
    assert stored.sources == [f"{manifest}[{i}]" for i in range(5)]
    torch.testing.assert_close(stored.embeddings, _encode(files).embeddings)
    again = _encode([manifest], out, column="path", shard_size=2)
    assert (again.encoded, again.resumed) == (0, 5)
    _parquet(manifest, path=[str(f) for f in reversed(files)])  # same rows, other files: not a resume
    with pytest.raises(metaframe.ConfigError, match="inputs_sha256"):
        _encode([manifest], out, column="path", shard_size=2)
