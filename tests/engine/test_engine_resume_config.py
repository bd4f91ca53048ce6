"""Resuming with a changed config: an error listing the differences, or applied and recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import metaframe
from engine_helpers import tiny_config


def _lrs(run_dir: Path) -> list[float]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [json.loads(line)["lr"] for line in lines if json.loads(line)["kind"] == "val"]


def test_resume_with_a_changed_lr_or_batch_size_is_an_error_listing_them(image_folders: Path, tmp_path: Path) -> None:
    config = tiny_config(image_folders, tmp_path / "run", epochs=1, schedule={"name": "constant"})
    metaframe.train(config, quiet=True)
    saved = (tmp_path / "run" / "config.yaml").read_text()
    changed = {**config, "epochs": 2, "batch_size": 2, "optimizer": {"lr": 0.01}}
    with pytest.raises(metaframe.ConfigError) as info:
        metaframe.train(changed, resume=tmp_path / "run", quiet=True)
    message = str(info.value)
    assert "\n" not in message and "--allow-config-change" in message
    assert "optimizer.lr: 0.003 → 0.01" in message and "batch_size: 4 → 2" in message
    assert "epochs" not in message.split(" — ")[0]  # a resumable field is no difference to refuse
    assert (tmp_path / "run" / "config.yaml").read_text() == saved  # the run's config is left as it was
    assert not (tmp_path / "run" / "config_changes.jsonl").exists()


def test_resume_with_more_epochs_is_allowed(image_folders: Path, tmp_path: Path) -> None:
    config = tiny_config(image_folders, tmp_path / "run", epochs=1)
    first = metaframe.train(config, quiet=True)
    resumed = metaframe.train({**config, "epochs": 2}, resume=tmp_path / "run", quiet=True)
    assert resumed.steps == 2 * first.steps


def test_allowed_config_change_is_applied_and_recorded(image_folders: Path, tmp_path: Path) -> None:
    config = tiny_config(image_folders, tmp_path / "run", epochs=1, schedule={"name": "constant"})
    metaframe.train(config, quiet=True)
    changed = {**config, "epochs": 2, "optimizer": {"lr": 0.01}}
    metaframe.train(changed, resume=tmp_path / "run", quiet=True, allow_config_change=True)
    assert _lrs(tmp_path / "run") == [pytest.approx(0.003), pytest.approx(0.01)]  # the new lr is used
    lines = (tmp_path / "run" / "config_changes.jsonl").read_text().splitlines()
    assert len(lines) == 1
    changes = {c["field"]: (c["run"], c["new"]) for c in json.loads(lines[0])["changes"]}
    assert changes["optimizer.lr"] == (0.003, 0.01) and changes["epochs"] == (1, 2)
    assert "lr: 0.01" in (tmp_path / "run" / "config.yaml").read_text()


def test_the_cli_refuses_a_changed_config_on_resume(image_folders: Path, tmp_path: Path) -> None:
    import yaml

    from engine_helpers import run_module

    config = tiny_config(image_folders, tmp_path / "run", epochs=1)
    metaframe.train(config, quiet=True)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({**config, "seed": 5}))
    result = run_module(["metaframe", "train", str(path), "--resume", str(tmp_path / "run"), "-q"])
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{path}: --resume" in lines[0] and "seed: 0 → 5" in lines[0]
