"""``metaframe demo --quick``: several modalities, one shared encoder, a table against chance."""

from __future__ import annotations

import re
from pathlib import Path

import metaframe
from engine_helpers import run_module


def test_demo_quick_trains_every_installed_task_with_one_encoder(tmp_path: Path) -> None:
    done = run_module(["metaframe", "demo", "--quick", "--output-dir", str(tmp_path / "demo")])
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "RANDOMLY INITIALISED" in out and "--encoder" in out
    installed = set(metaframe.list_modalities())
    rows = {}
    for line in out.splitlines():
        match = re.match(r"^(\w+)\s+.*\s(\d+)/(\d+)\s+([\d.]+)\s+([\d.]+)\s+\d+s$", line)
        if match:
            rows[match.group(1)] = (float(match.group(4)), float(match.group(5)))
    expected = {"image", "tabular", "time_series", "audio"} & installed
    assert set(rows) == expected
    for name in expected:
        assert (tmp_path / "demo" / name / "config.yaml").is_file()
    if "tabular" in rows:  # wine is easy: clearly above chance even in --quick
        accuracy, chance = rows["tabular"]
        assert accuracy > chance + 0.2
    if len(expected) >= 2:
        assert "joint forward pass" in out and "same encoder object: True" in out
