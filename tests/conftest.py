from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))  # tests/distributions.py
# The manifest cache of every CLI run (and of the plugin suites run from here) goes to a
# temporary folder, never the user's ~/.cache/metaframe; tests of the cache set their own.
os.environ["METAFRAME_CACHE_DIR"] = tempfile.mkdtemp(prefix="metaframe-test-cache-")


def run_cli(*args: str, env_extra: dict[str, str] | None = None, pythonpath: Path | None = None, timeout: int = 120):
    """Run the installed ``metaframe`` command as a user would, in a subprocess."""
    env = dict(os.environ)
    env.pop("METAFRAME_LOAD_PLUGINS", None)
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), env.get("PYTHONPATH", "")]))
    env.update(env_extra or {})
    return subprocess.run(
        [str(Path(sys.executable).parent / "metaframe"), *args], capture_output=True, text=True, env=env, timeout=timeout
    )


@pytest.fixture
def cli():
    return run_cli


_STAND_ALONE: list[str] = []


def pytest_runtest_logreport(report):
    """Collect each plugin suite's own summary line (tests/test_plugins_stand_alone.py), xdist too."""
    if report.when == "call":
        _STAND_ALONE.extend(value for key, value in report.user_properties if key == "stand_alone_summary")


def pytest_terminal_summary(terminalreporter):
    if _STAND_ALONE:
        terminalreporter.section("plugin suites, each run installed alone")
        for line in sorted(_STAND_ALONE):
            terminalreporter.write_line(line)
