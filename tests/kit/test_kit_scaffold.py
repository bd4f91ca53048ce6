"""`metaframe new-plugin` writes a plugin that installs, is discovered and passes its own tests;
`metaframe validate` tells a valid plugin from a broken one. Everything through subprocesses,
as a user runs it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from metaframe.cli.new_plugin import write_plugin

METAFRAME = [sys.executable, "-m", "metaframe"]


def run(cmd: list[str], cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_a_generated_plugin_installs_is_listed_and_passes_its_tests(tmp_path):
    made = run([*METAFRAME, "new-plugin", "kit_probe", "--dir", "kit-probe"], cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    plugin = tmp_path / "kit-probe"
    assert "pip install -e kit-probe" in made.stdout
    site = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", str(site)]
    installed = run([*pip, str(plugin)], cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr

    listed = run([*METAFRAME, "list-modalities", "--format", "json"], cwd=tmp_path, pythonpath=site)
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["kit_probe"]["status"] == "ok"
    assert rows["kit_probe"]["distribution"] == "metaframe-kit-probe"

    validated = run([*METAFRAME, "validate", "metaframe-kit-probe", "--imports"], cwd=tmp_path, pythonpath=site)
    assert validated.returncode == 0, validated.stdout
    assert "imports without torch" in validated.stdout

    tests = run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", str(plugin / "tests")], cwd=tmp_path, pythonpath=site
    )
    assert tests.returncode == 0, tests.stdout[-3000:]
    assert "test_kit_probe_conforms[kit_probe-check_padding_invariance] PASSED" in tests.stdout
    assert " passed" in tests.stdout and "failed" not in tests.stdout


def test_validate_fails_a_plugin_whose_entry_module_imports_torch(tmp_path):
    write_plugin("heavy", tmp_path / "heavy")
    entry = tmp_path / "heavy" / "metaframe_heavy" / "__init__.py"
    entry.write_text("import torch\n" + entry.read_text())
    result = run([*METAFRAME, "validate", str(tmp_path / "heavy"), "--format", "json"], cwd=tmp_path)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    failures = [f["message"] for f in report["findings"] if f["level"] == "FAIL"]
    assert failures == ["heavy: the entry module imports torch; keep it to metaframe_registry and name code by strings"]


def test_validate_names_the_bad_manifest_field_and_the_missing_reference(tmp_path):
    write_plugin("broken", tmp_path / "broken")
    entry = tmp_path / "broken" / "metaframe_broken" / "__init__.py"
    text = entry.read_text().replace('extensions=[".npy"]', 'extensions=["npy"]')
    entry.write_text(text)
    result = run([*METAFRAME, "validate", str(tmp_path / "broken")], cwd=tmp_path)
    assert result.returncode == 1
    assert "extensions" in result.stdout and "must start with a dot" in result.stdout

    entry.write_text(text.replace('extensions=["npy"]', 'extensions=[".npy"]').replace(":BrokenTokenizer", ":Missing"))
    result = run([*METAFRAME, "validate", str(tmp_path / "broken"), "--imports"], cwd=tmp_path)
    assert result.returncode == 1
    assert "tokenizer metaframe_broken.tokenizer:Missing module 'metaframe_broken.tokenizer' has no attribute" in result.stdout


def test_validate_gives_a_misspelt_manifest_field_one_line_with_a_did_you_mean(tmp_path):
    write_plugin("typo", tmp_path / "typo")
    entry = tmp_path / "typo" / "metaframe_typo" / "__init__.py"
    entry.write_text(entry.read_text().replace('extensions=[".npy"]', 'extentions=[".npy"]'))
    result = run([*METAFRAME, "validate", str(tmp_path / "typo")], cwd=tmp_path)
    assert result.returncode == 1
    fails = [line for line in result.stdout.splitlines() if "FAIL" in line]
    assert fails == [
        "  FAIL  entry point typo = metaframe_typo:manifest: the manifest does not validate: "
        "extentions: unknown field; did you mean 'extensions'?"
    ], result.stdout
    assert "pydantic.dev" not in result.stdout


def test_new_plugin_refuses_a_bad_name_and_a_non_empty_folder(tmp_path):
    bad = run([*METAFRAME, "new-plugin", "Point-Cloud"], cwd=tmp_path)
    assert bad.returncode == 1 and "'Point-Cloud' is not valid" in bad.stderr
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    taken = run([*METAFRAME, "new-plugin", "ok_name", "--dir", "taken"], cwd=tmp_path)
    assert taken.returncode == 1 and "not an empty folder" in taken.stderr
    assert sorted(p.name for p in (tmp_path / "taken").iterdir()) == ["keep.txt"]


def test_validate_refuses_an_unknown_target_and_lists_installed_plugins(tmp_path):
    result = run([*METAFRAME, "validate", "metaframe-does-not-exist"], cwd=tmp_path)
    assert result.returncode == 1
    assert "neither a folder, an installed distribution nor an installed modality" in result.stdout
    assert "metaframe-image" in result.stdout


@pytest.mark.parametrize("command", ["new-plugin", "validate"])
def test_help_explains_the_command(command):
    result = subprocess.run([*METAFRAME, command, "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "usage: metaframe " + command in result.stdout


def test_new_plugin_warns_when_the_name_is_already_installed(tmp_path):
    result = run([*METAFRAME, "new-plugin", "image", "--dir", "dup"], cwd=tmp_path)
    assert result.returncode == 0 and "already installed (from metaframe-image)" in result.stderr


def test_the_kit_cli_commands_and_pytest_plugin_do_not_import_torch(tmp_path):
    code = (
        "import contextlib, io, sys\n"
        "from metaframe.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['validate', 'image']) == 0\n"
        "    assert main(['new-plugin', 'light', '--dir', 'light']) == 0\n"
        "import metaframe.testing.pytest_plugin\n"
        "print('torch' in sys.modules)\n"
    )
    result = run([sys.executable, "-c", code], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
