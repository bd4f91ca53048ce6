"""The tutorial's plugin, copied file by file as a reader would, is a working plugin.

docs/tutorial-write-a-plugin.md marks each file of its plugin with ``file=PATH`` in the fence
info string. This writes those blocks into a folder, checks it with ``metaframe validate``,
installs it as a real distribution and runs its own conformance tests, all through
subprocesses, as the author runs them: a block that forgets an import, or a file the page
never shows, fails here although the page's blocks run fine in one shared namespace.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the helpers of the two modules below
from test_kit_docs import DOCS, file_blocks, undefined_globals  # noqa: E402
from test_kit_scaffold import METAFRAME, run  # noqa: E402

from metaframe.testing import CHECK_NAMES  # noqa: E402

TUTORIAL = DOCS / "tutorial-write-a-plugin.md"
# the layout the tutorial draws in its section 1; py.typed is the one empty file it shows no block for
LAYOUT = {
    "pyproject.toml",
    "README.md",
    "metaframe_stroke/__init__.py",
    "metaframe_stroke/reader.py",
    "metaframe_stroke/tokenizer.py",
    "metaframe_stroke/examples.py",
    "tests/test_stroke_conformance.py",
}
EMPTY_FILES = ["metaframe_stroke/py.typed"]


def write_tutorial_plugin(folder: Path) -> Path:
    """The tutorial's file blocks as files under ``folder``; returns ``folder``."""
    for path, (_, _, content) in file_blocks(TUTORIAL).items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    for path in EMPTY_FILES:
        (folder / path).touch()
    return folder


def test_the_tutorial_shows_every_file_of_its_layout():
    shown = set(file_blocks(TUTORIAL))
    assert shown == LAYOUT, f"missing: {sorted(LAYOUT - shown)}; not in the layout: {sorted(shown - LAYOUT)}"


def test_each_python_file_of_the_tutorial_imports_what_it_uses(tmp_path):
    plugin = write_tutorial_plugin(tmp_path / "metaframe-stroke")
    missing = {
        path: names
        for path in sorted(LAYOUT)
        if path.endswith(".py") and (names := undefined_globals((plugin / path).read_text(encoding="utf-8"), path))
    }
    assert not missing, f"names used without an import: {missing}"


def test_the_tutorial_plugin_validates_installs_and_passes_the_kit(tmp_path):
    plugin = write_tutorial_plugin(tmp_path / "metaframe-stroke")

    folder = run([*METAFRAME, "validate", str(plugin)], cwd=tmp_path)
    assert folder.returncode == 0, folder.stdout + folder.stderr

    site = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", str(site)]
    installed = run([*pip, str(plugin)], cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr

    listed = run([*METAFRAME, "list-modalities", "--format", "json"], cwd=tmp_path, pythonpath=site)
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["stroke"]["status"] == "ok", rows["stroke"]
    assert rows["stroke"]["distribution"] == "metaframe-stroke"

    imports = run([*METAFRAME, "validate", "metaframe-stroke", "--imports"], cwd=tmp_path, pythonpath=site)
    assert imports.returncode == 0, imports.stdout + imports.stderr

    tests = run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", str(plugin / "tests")], cwd=tmp_path, pythonpath=site
    )
    assert tests.returncode == 0, tests.stdout[-3000:]
    outcomes = {name: outcome_of(tests.stdout, f"test_stroke_conforms[stroke-{name}]") for name in CHECK_NAMES}
    assert set(outcomes.values()) <= {"PASSED", "SKIPPED"}, outcomes  # SKIPPED: a check needing a GPU, on a CPU
    assert outcomes["check_padding_invariance"] == outcomes["check_entry_module_torch_free"] == "PASSED"


def outcome_of(output: str, test_id: str) -> str:
    """PASSED / SKIPPED / FAILED / ERROR of one test in ``pytest -v`` output, or MISSING."""
    for line in output.splitlines():
        if f"::{test_id} " in line:
            return line.split(f"::{test_id} ")[1].split()[0]
    return "MISSING"
