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
    (tmp_path / "data.parquet").write_bytes(b"PAR1")
    config = toy_config(tmp_path / "data.parquet", tmp_path / "run", data={"train": str(tmp_path / "data.parquet"), "format": fmt})
    with pytest.raises(metaframe.ConfigError) as info:
        metaframe.train(config, quiet=True)
    message = str(info.value)
    assert str(tmp_path / "data.parquet") in message and "\n" not in message
    for accepted in (".csv", ".jsonl", "sub-folder per class", "dataset reader"):
        assert accepted in message
