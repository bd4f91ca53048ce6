from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))  # tests/distributions.py
# The manifest cache of every CLI run (and of the plugin suites run from here) goes to a
# temporary folder, never the user's ~/.cache/metaframe; tests of the cache set their own.
os.environ["METAFRAME_CACHE_DIR"] = tempfile.mkdtemp(prefix="metaframe-test-cache-")
# The suite loads the machine itself (xdist workers): the busy-machine thread warning would only
# add stderr lines to CLI tests that check stderr; tests/test_threads.py tests the warning.
os.environ["METAFRAME_NO_BUSY_WARNING"] = "1"

from cli_runner import run_cli  # noqa: E402 - after sys.path has tests/


@pytest.fixture
def cli():
    return run_cli


def pytest_collection_modifyitems(config, items):
    """Every ``cuda``-marked test is skipped, saying so, where torch sees no CUDA device."""
    if not any(item.get_closest_marker("cuda") for item in items):
        return
    import torch

    if not torch.cuda.is_available():
        skip = pytest.mark.skip(reason="skipped: no CUDA")
        for item in items:
            if item.get_closest_marker("cuda"):
                item.add_marker(skip)


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
