"""How training data is found: manifest cells as values, unknown file formats refused readably."""

from __future__ import annotations

from pathlib import Path

import pytest

import metaframe
from engine_helpers import toy_config, toy_fields
from metaframe.engine.config import parse_config
from metaframe.engine.data import load_examples


def test_a_manifest_cell_longer_than_a_file_name_is_a_value(register_modality, tmp_path: Path) -> None:
    register_modality("toy", **toy_fields())
    long_text = "word " * 60  # 300 characters: no file system accepts it as a name
    (tmp_path / "data.csv").write_text(f"path,label\n{long_text},a\nshort,b\n")
    examples = load_examples(tmp_path / "data.csv", parse_config(toy_config(tmp_path / "data.csv", tmp_path / "run")))
    assert [e.inputs["toy"] for e in examples] == [long_text, "short"]


@pytest.mark.parametrize("fmt", ["auto", "dataset"])
def test_a_file_no_reader_understands_is_one_readable_error(register_modality, tmp_path: Path, fmt: str) -> None:
    register_modality("toy", **toy_fields())  # no dataset reader
    (tmp_path / "data.h5").write_bytes(b"\x89HDF\r\n")  # .parquet is a manifest now
    config = toy_config(tmp_path / "data.h5", tmp_path / "run", data={"train": str(tmp_path / "data.h5"), "format": fmt})
    with pytest.raises(metaframe.ConfigError) as info:
        metaframe.train(config, quiet=True)
    message = str(info.value)
    assert str(tmp_path / "data.h5") in message and "\n" not in message
    for accepted in (".csv", ".jsonl", ".parquet", "sub-folder per class", "dataset reader"):
        assert accepted in message


def test_data_limit_on_class_folders_keeps_every_class(register_modality, tmp_path: Path) -> None:
    import numpy as np

    from metaframe.engine.data import build_splits

    register_modality("toy", **toy_fields())
    for cls in ("a", "b", "c"):
        (tmp_path / "data" / cls).mkdir(parents=True)
        for i in range(10):
            np.save(tmp_path / "data" / cls / f"{i}.npy", np.zeros(4, np.float32))

    def kept(seed: int) -> list[str]:
        data = {"train": str(tmp_path / "data"), "val_fraction": 0, "limit": 6, "split_seed": seed}
        train, _ = build_splits(parse_config(toy_config(tmp_path / "data", tmp_path / "run", data=data)))
        return [e.name for e in train]

    names = kept(0)
    assert len(names) == 6
    assert sorted(Path(n).parent.name for n in names) == ["a", "a", "b", "b", "c", "c"]
    assert kept(0) == names  # seeded: the same seed keeps the same samples
    assert any(kept(s) != names for s in (1, 2, 3))
