"""A sample the collate or tokenizer refuses stops training with one line naming its file (issue 12)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import metaframe
from engine_helpers import run_module, tiny_config, write_image_folders
from metaframe.engine.culprit import UnfitSampleError


def _gray(path: Path) -> None:
    from PIL import Image

    Image.fromarray(np.full((8, 8), 120, dtype=np.uint8)).save(path)


@pytest.fixture
def one_gray_image(tmp_path: Path) -> tuple[Path, Path]:
    root = write_image_folders(tmp_path / "data", per_class=4)
    gray = root / "dog" / "03.png"
    _gray(gray)
    return root, gray


def test_a_sample_the_tokenizer_refuses_is_named_by_its_file(tmp_path, one_gray_image):
    root, gray = one_gray_image
    # channels: null keeps each file's own channel count; the tokenizer wants 3
    config = tiny_config(root, tmp_path / "run", reader={"size": 8, "channels": None}, epochs=1,
                         data={"train": str(root), "val_fraction": 0.0})
    with pytest.raises(UnfitSampleError) as caught:
        metaframe.train(config, quiet=True)
    assert caught.value.source == str(gray)
    assert "does not fit the run" in str(caught.value) and "\n" not in str(caught.value)


def test_samples_that_fit_alone_but_not_together_name_the_batch():
    import torch

    from metaframe.engine.culprit import find_unfit
    from metaframe.engine.data import Example

    class Data:
        examples = [Example({}, name=f"s{i}.npy") for i in range(3)]

        def __getitem__(self, i):
            return {"toy": torch.zeros(i + 1)}, {}

    def collate(items):
        return {"toy": torch.stack([it[0]["toy"] for it in items])}, {}  # different lengths do not stack

    class Model(torch.nn.Module):
        def tokenize(self, inputs):
            return inputs

    from metaframe.modality import CollateError

    refused = CollateError("samples have different shapes [(1,), (3,)]")
    error = find_unfit(Model(), Data(), collate, [0, 2], torch.device("cpu"), refused)
    assert error is not None and error.source == "batch of s0.npy, s2.npy" and "fits alone but not together" in str(error)
    assert "different shapes" in str(error)
    # a failure that is not the collate's, with every sample fitting alone, is not blamed on the data
    assert find_unfit(Model(), Data(), collate, [0, 2], torch.device("cpu"), RuntimeError("some bug")) is None


def test_the_cli_prints_one_line_naming_the_file(tmp_path, one_gray_image):
    import yaml

    root, gray = one_gray_image
    config = tiny_config(root, tmp_path / "run", reader={"size": 8, "channels": None}, epochs=1,
                         data={"train": str(root), "val_fraction": 0.0})
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    result = run_module(["metaframe", "train", str(path), "-q"])
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and str(gray) in lines[0] and "Traceback" not in result.stderr, result.stderr


def test_a_validation_sample_the_tokenizer_refuses_is_named_too(tmp_path):
    root = write_image_folders(tmp_path / "data", per_class=4)
    val = write_image_folders(tmp_path / "val", per_class=2)
    gray = val / "cat" / "01.png"
    _gray(gray)
    config = tiny_config(root, tmp_path / "run", reader={"size": 8, "channels": None}, epochs=1,
                         data={"train": str(root), "val": str(val)})
    with pytest.raises(UnfitSampleError) as caught:
        metaframe.train(config, quiet=True)
    assert caught.value.source == str(gray)
