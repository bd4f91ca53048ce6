"""The installed plugin as a user sees it from the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def test_listed_with_status_ok():
    env = {k: v for k, v in os.environ.items() if k != "METAFRAME_LOAD_PLUGINS"}
    cli = Path(sys.executable).parent / "metaframe"
    out = subprocess.run([str(cli), "list-modalities", "--format", "json"], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = {row["name"]: row for row in json.loads(out.stdout)}
    assert rows["infrared"]["status"] == "ok"
    assert rows["infrared"]["distribution"] == "metaframe-infrared"
    assert ".tiff" in rows["infrared"]["extensions"]
