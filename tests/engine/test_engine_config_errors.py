"""Every bad config given to ``metaframe train`` is one stderr line naming the file, field and rule."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine_helpers import run_module, tiny_config, write_image_folders


def _with(**changes: Any) -> Any:
    """A change to the tiny image config: ``a__b=value`` sets ``config[a][b]``."""

    def apply(config: dict[str, Any], root: Path) -> dict[str, Any]:
        config = copy.deepcopy(config)
        for key, value in changes.items():
            node = config
            *parents, last = key.split("__")
            for part in parents:
                node = node.setdefault(part, {})
            node[last] = value(root) if callable(value) else value
        return config

    return apply


def _empty_classes(root: Path) -> str:
    for cls in ("cat", "dog"):
        (root / "empty" / cls).mkdir(parents=True, exist_ok=True)
    return str(root / "empty")


# (name, change, words the one line must hold)
BAD_CONFIGS = [
    ("unknown modality", _with(modality="nosuch"), ["modalities", "nosuch", "not installed"]),
    ("unknown head kind", _with(head={"kind": "nosuch"}), ["heads.label.kind", "nosuch", "not registered"]),
    ("missing data path", _with(data={"train": "/nonexistent/data"}), ["data.train", "/nonexistent/data", "does not exist"]),
    ("unknown preset", _with(encoder={"preset": "huge"}), ["encoder.preset", "huge"]),
    ("unknown device", _with(device="tpu"), ["device", "tpu"]),
    ("missing checkpoint", _with(encoder={"checkpoint": "/nonexistent/w.pth"}), ["encoder.checkpoint", "w.pth", "no such file"]),
    ("unknown tokenizer option", _with(tokenizer={"patch_size": 4, "image_size": 8, "bogus": 1}), ["modalities.image.tokenizer", "bogus"]),
    ("negative patch size", _with(tokenizer={"patch_size": -8, "image_size": 8}), ["modalities.image.tokenizer", "-8"]),
    ("unknown head option", _with(head={"kind": "classification", "options": {"bogus": 1}}), ["heads.label.options", "bogus"]),
    ("empty class folders", _with(data__train=_empty_classes), ["data.train", "no files"]),
    ("unknown reader option", _with(reader={"size": 8, "bogus": 1}), ["modalities.image.reader", "bogus"]),
    ("bad reader option value", _with(reader={"size": -3}), ["modalities.image.reader", "-3"]),
    ("negative learning rate", _with(optimizer={"lr": -1}), ["optimizer.lr", "-1", "> 0"]),
    ("unknown field", _with(bogus=1), ["bogus", "unknown field"]),
    ("wrong type", _with(epochs="many"), ["epochs", "many"]),
]


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bad-configs")
    write_image_folders(root / "images", per_class=3)
    return root


def _one_error_line(path: Path, stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1, stderr
    message = lines[0].removeprefix("metaframe train: error: ")
    assert message.startswith(str(path) + ": "), message
    return message


@pytest.mark.parametrize("name, change, words", BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_a_bad_config_is_one_line_naming_the_file(data_root: Path, name: str, change: Any, words: list[str]) -> None:
    slug = name.replace(" ", "-")
    config = change(tiny_config(data_root / "images", data_root / f"run-{slug}", epochs=1), data_root)
    path = data_root / f"{slug}.yaml"
    path.write_text(yaml.safe_dump(config))
    result = run_module(["metaframe", "train", str(path), "-q"], timeout=120)
    assert result.returncode == 1, result.stderr
    message = _one_error_line(path, result.stderr)
    for word in words:
        assert word in message, message


def test_a_yaml_syntax_error_is_one_line_with_its_position(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("modality: image\n  bad: [\n")
    result = run_module(["metaframe", "train", str(path)])
    assert result.returncode == 1
    message = _one_error_line(path, result.stderr)
    assert "cannot parse YAML" in message and "line 2" in message


def test_evaluate_names_the_run_config_that_no_longer_builds(tmp_path: Path) -> None:
    import metaframe

    data = write_image_folders(tmp_path / "data", per_class=4)
    run = metaframe.train(tiny_config(data, tmp_path / "run", epochs=1), quiet=True).run_dir
    config_path = Path(run) / "config.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["heads"]["label"]["options"] = {"hiden": 8}  # as if edited by hand, or written by another version
    config_path.write_text(yaml.safe_dump(config))
    result = run_module(["metaframe", "evaluate", str(run), "-q"])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0 and len(lines) == 1, result.stderr
    assert str(config_path) in lines[0] and "heads.label.options" in lines[0] and "hiden" in lines[0]
