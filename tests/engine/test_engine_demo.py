"""``metaframe demo --quick``: several modalities, one shared encoder, a table against chance."""

from __future__ import annotations

import re
from pathlib import Path

import metaframe
from engine_helpers import run_module

from metaframe.pretrained import available_pretrained


def test_demo_quick_trains_every_installed_task_with_one_encoder(tmp_path: Path) -> None:
    done = run_module(["metaframe", "demo", "--quick", "--output-dir", str(tmp_path / "demo")])
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    pretrained = available_pretrained()
    if pretrained:  # the packaged encoder, and a random one of its shape beside it
        assert "pretrained frozen encoder" in out and "random frozen encoder" in out and "PRETRAINED" in out
        columns = ["pretrained", "random"]
    else:
        assert "RANDOMLY INITIALISED" in out and "--encoder" in out
        columns = ["random"]
    installed = set(metaframe.list_modalities())
    rows = {}
    for line in out.splitlines():
        match = re.match(r"^(\w+)\s+.*\s(\d+)/(\d+)\s+((?:[\d.]+\s+)+)\d+s$", line)
        if match:
            rows[match.group(1)] = [float(v) for v in match.group(4).split()]
    expected = {"image", "tabular", "time_series", "audio"} & installed
    assert set(rows) == expected
    for name in expected:
        assert len(rows[name]) == len(columns) + 1  # one accuracy per encoder, then chance
        for column in columns:
            assert (tmp_path / "demo" / column / name / "config.yaml").is_file()
    if "tabular" in rows:  # wine is easy: clearly above chance even in --quick, whatever the encoder
        *accuracies, chance = rows["tabular"]
        assert all(a > chance + 0.2 for a in accuracies)
    if len(expected) >= 2:
        assert "joint forward pass" in out and "same encoder object: True" in out
