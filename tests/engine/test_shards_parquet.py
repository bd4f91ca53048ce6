"""Parquet manifests: paths or in-cell values per column, read one record batch at a time."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import metaframe
from engine_helpers import tiny_config, write_image_folders
from metaframe.engine import manifests
from metaframe.engine.config import parse_config
from metaframe.engine.data import load_examples


def image_table(folder: Path, inline: bool) -> pa.Table:
    files = sorted(folder.glob("*/*.png"))
    cells = [p.read_bytes() for p in files] if inline else [str(p.relative_to(folder.parent)) for p in files]
    return pa.table({"path": cells, "label": [p.parent.name for p in files]})


@pytest.mark.parametrize("inline", [False, True], ids=["paths", "image-bytes-in-cells"])
def test_train_and_evaluate_from_a_parquet_manifest(tmp_path: Path, inline: bool) -> None:
    folder = write_image_folders(tmp_path / "images", per_class=8)
    pq.write_table(image_table(folder, inline), tmp_path / "train.parquet", row_group_size=5)
    config = tiny_config(tmp_path / "train.parquet", tmp_path / "run", epochs=2)
    result = metaframe.train(config, quiet=True)
    assert result.final["val_accuracy"] == 1.0
    report = metaframe.evaluate(tmp_path / "run", data=tmp_path / "train.parquet", quiet=True)
    assert report["count"] == 16 and report["heads"]["label"]["accuracy"] == 1.0


def test_parquet_is_read_in_record_batches_and_rows_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = write_image_folders(tmp_path / "images", per_class=5)
    pq.write_table(image_table(folder, False), tmp_path / "m.parquet", row_group_size=3)
    monkeypatch.setattr(manifests, "PARQUET_BATCH_ROWS", 2)
    sizes: list[int] = []
    real = pq.ParquetFile.iter_batches

    def counting(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        for batch in real(self, *args, **kwargs):
            sizes.append(batch.num_rows)
            yield batch

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", counting)
    examples = load_examples(tmp_path / "m.parquet", parse_config(tiny_config(tmp_path / "m.parquet", tmp_path / "run")))
    assert len(examples) == 10 and max(sizes) <= 2 and sum(sizes) == 10
    assert examples[3].name == f"{tmp_path / 'm.parquet'}[3]" and examples[3].inputs["image"] == folder / "cat" / "03.png"


def test_a_parquet_manifest_missing_a_column_or_unreadable_is_named(tmp_path: Path) -> None:
    pq.write_table(pa.table({"file": ["a.png"], "label": ["x"]}), tmp_path / "m.parquet")
    with pytest.raises(metaframe.ConfigError, match=r"m.parquet: missing column\(s\) path; found file, label"):
        metaframe.train(tiny_config(tmp_path / "m.parquet", tmp_path / "run"), quiet=True)
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(metaframe.ConfigError, match=r"bad.parquet: not a readable Parquet file"):
        metaframe.train(tiny_config(tmp_path / "bad.parquet", tmp_path / "run2"), quiet=True)


def test_a_list_cell_is_an_array(tmp_path: Path) -> None:
    table = pa.table({"path": [[0.5, 1.0], [2.0, 3.0]], "label": ["a", "b"]})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    (tmp_path / "v.parquet").write_bytes(buffer.getvalue())
    rows = list(manifests.read_manifest_rows(tmp_path / "v.parquet"))
    assert rows[1] == {"path": [2.0, 3.0], "label": "b"} and manifests.manifest_row_count(tmp_path / "v.parquet") == 2
    examples = load_examples(tmp_path / "v.parquet", parse_config(tiny_config(tmp_path / "v.parquet", tmp_path / "run")))
    np.testing.assert_array_equal(examples[0].inputs["image"], np.asarray([0.5, 1.0], np.float32))


def parquet_windows(path: Path) -> list[tuple[object, str]]:
    """A toy dataset reader: one sample per row of a Parquet file (as tabular / time series plugins read them)."""
    table = pq.read_table(path).to_pylist()
    return [(np.asarray(row["x"], np.float32), row["y"]) for row in table]


def test_a_parquet_file_stays_a_dataset_for_a_plugin_that_reads_parquet_datasets(register_modality, tmp_path: Path) -> None:
    from engine_helpers import toy_config, toy_fields

    register_modality("toy", **{**toy_fields(), "extensions": [".npy", ".parquet"], "dataset": parquet_windows})
    pq.write_table(pa.table({"x": [[1.0, 2.0, 3.0, 4.0]] * 3, "y": ["a", "b", "a"]}), tmp_path / "d.parquet")
    examples = load_examples(tmp_path / "d.parquet", parse_config(toy_config(tmp_path / "d.parquet", tmp_path / "run")))
    assert [e.targets["label"] for e in examples] == ["a", "b", "a"] and not examples[0].needs_read
    forced = toy_config(tmp_path / "d.parquet", tmp_path / "run", data={"train": str(tmp_path / "d.parquet"), "format": "manifest"})
    with pytest.raises(metaframe.ConfigError, match="missing column"):
        load_examples(tmp_path / "d.parquet", parse_config(forced))
