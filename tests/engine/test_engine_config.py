"""The training config: one pydantic model from YAML / TOML / JSON, errors that name the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from engine_helpers import run_module, tiny_config
from metaframe import ConfigError
from metaframe.engine.config import load_config


def test_bad_value_names_file_field_value_and_rule(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(tiny_config("data", tmp_path / "run", optimizer={"lr": -1})))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}: optimizer.lr: -1 — must be > 0"


def test_unknown_and_missing_fields_are_named(tmp_path: Path) -> None:
    config = tiny_config("data", tmp_path / "run", optimiser={"lr": 0.1})
    del config["data"]
    path = tmp_path / "c.json"
    path.write_text(json.dumps(config))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert f"{path}: optimiser: unknown field" in message
    assert f"{path}: data: required field is missing" in message


def test_yaml_toml_and_json_give_the_same_config(tmp_path: Path) -> None:
    yaml_path = tmp_path / "c.yaml"
    yaml_path.write_text(
        "modality: image\ntokenizer: {patch_size: 4, image_size: 8}\ndata: {train: d}\n"
        "optimizer: {lr: 0.01}\nschedule: {warmup_steps: 3}\nepochs: 2\n"
    )
    toml_path = tmp_path / "c.toml"
    toml_path.write_text(
        'modality = "image"\nepochs = 2\n[tokenizer]\npatch_size = 4\nimage_size = 8\n[data]\ntrain = "d"\n'
        "[optimizer]\nlr = 0.01\n[schedule]\nwarmup_steps = 3\n"
    )
    json_path = tmp_path / "c.json"
    json_path.write_text(json.dumps(yaml.safe_load(yaml_path.read_text())))
    configs = [load_config(p) for p in (yaml_path, toml_path, json_path)]
    assert configs[0] == configs[1] == configs[2]
    cfg = configs[0]
    assert cfg.modalities["image"].tokenizer == {"patch_size": 4, "image_size": 8}
    assert cfg.optimizer.lr == 0.01 and cfg.schedule.warmup_steps == 3
    assert list(cfg.heads) == ["label"] and cfg.heads["label"].resolved_task == "classification"


def test_print_config_and_bad_config_on_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(tiny_config("data", tmp_path / "run")))
    shown = run_module(["metaframe", "train", str(path), "--print-config", "--set", "optimizer.lr=0.5"])
    assert shown.returncode == 0, shown.stderr
    resolved = yaml.safe_load(shown.stdout)
    assert resolved["optimizer"]["lr"] == 0.5
    assert resolved["schedule"]["name"] == "cosine"  # defaults are shown too
    assert resolved["modalities"]["image"]["reader"] == {"size": 8}
    bad = run_module(["metaframe", "train", str(path), "--set", "batch_size=0"])
    assert bad.returncode == 1
    assert f"{path}: batch_size: 0 — must be > 0" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_the_config_reference_is_the_field_list() -> None:
    import re
    from pathlib import Path

    from metaframe.engine.config import field_lines

    reference = (Path(__file__).resolve().parents[2] / "docs" / "config.md").read_text()
    block = re.search(r"```text\n(.*?)\n```", reference, re.S)
    assert block, "docs/config.md has no ```text field block"
    expected = [line.strip() for line in field_lines()]
    assert block.group(1).splitlines() == expected, "docs/config.md is stale: python -m metaframe.engine.config"
    assert all(line.split(": ", 1)[1][:1] != "(" for line in expected), "a config field has no description"
    assert "heads.NAME.options: " in block.group(1) and "one of auto | folders | manifest | dataset" in block.group(1)
