"""The installed plugin as a user sees it from the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def test_listed_with_status_ok_and_dataset_facts():
    env = {k: v for k, v in os.environ.items() if k != "METAFRAME_LOAD_PLUGINS"}
    cli = Path(sys.executable).parent / "metaframe"
    out = subprocess.run([str(cli), "list-modalities", "--format", "json"], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    row = {r["name"]: r for r in json.loads(out.stdout)}["hyperspectral"]
    assert row["status"] == "ok" and row["distribution"] == "metaframe-hyperspectral"
    assert {".mat", ".npy", ".npz", ".hdr"} <= set(row["extensions"])
    assert "0 = unlabelled" in row["info"]["dataset"]
