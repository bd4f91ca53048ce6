"""``metaframe plugins`` over real installed distributions, run as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from distributions import make_distribution, third_party

GOOD_HOOKS = """
from metaframe_registry import hookimpl

@hookimpl
def metaframe_register_heads(register):
    register("probe", "metaframe.heads:ClassificationHead", "a probe head")
"""

MISSPELT_HOOKS = """
from metaframe_registry import hookimpl

@hookimpl
def metaframe_register_head(register):
    register("typo_head", "metaframe.heads:ClassificationHead")
"""

RAISING_HOOKS = """
from metaframe_registry import hookimpl

@hookimpl
def metaframe_register_encoders(register):
    raise RuntimeError("encoder table is corrupt")
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    third_party(site)  # metaframe-sonar 1.2.3: a modality
    make_distribution(
        site,
        "metaframe-probe",
        "2.0.0",
        {"metaframe.plugins": {"probe": "mf_probe_hooks"}},
        {"mf_probe_hooks.py": GOOD_HOOKS},
    )
    make_distribution(
        site,
        "metaframe-typo",
        "0.1.0",
        {"metaframe.plugins": {"typo": "mf_typo_hooks"}},
        {"mf_typo_hooks.py": MISSPELT_HOOKS},
    )
    make_distribution(
        site,
        "metaframe-noimport",
        "0.0.1",
        {"metaframe.plugins": {"noimport": "mf_noimport_hooks"}},
        {"mf_noimport_hooks.py": "import this_module_does_not_exist\n"},
    )
    make_distribution(
        site,
        "metaframe-raises",
        "0.0.3",
        {"metaframe.plugins": {"raises": "mf_raises_hooks"}},
        {"mf_raises_hooks.py": RAISING_HOOKS},
    )
    return site


def rows_of(result) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    return {row["distribution"]: row for row in json.loads(result.stdout)}


def test_json_shows_each_distribution_its_hooks_registrations_and_status(site: Path, cli) -> None:
    result = cli("plugins", "--format", "json", pythonpath=site)
    rows = rows_of(result)
    assert result.returncode == 1, result.stderr  # two distributions failed

    probe = rows["metaframe-probe"]
    assert probe["status"] == "ok" and probe["version"] == "2.0.0"
    assert probe["entry_points"] == ["metaframe.plugins:probe = mf_probe_hooks"]
    assert probe["hooks"] == ["metaframe_register_heads"] and probe["heads"] == ["probe"]

    sonar = rows["metaframe-sonar"]
    assert sonar["status"] == "ok" and sonar["modalities"] == ["sonar"] and sonar["datasets"] == []
    assert sonar["entry_points"] == ["metaframe.modalities:sonar = mf_sonar:manifest"]

    core = rows["metaframe"]
    assert "classification" in core["heads"] and "vit" in core["encoders"] and core["status"] == "ok"
    assert rows["metaframe-tabular"]["datasets"] == ["tabular"]  # a modality with a dataset reader

    typo = rows["metaframe-typo"]
    assert typo["status"] == "warn" and typo["heads"] == [] and typo["hooks"] == []
    assert "implements no known hook; did you mean metaframe_register_heads?" in typo["warnings"][0]

    noimport = rows["metaframe-noimport"]
    assert noimport["status"] == "failed" and "this_module_does_not_exist" in noimport["errors"][0]
    assert "tracebacks" not in noimport

    raises = rows["metaframe-raises"]
    assert raises["status"] == "failed"
    assert "metaframe_register_encoders raised RuntimeError: encoder table is corrupt" in raises["errors"][0]


def test_table_lists_every_column_and_the_reason(site: Path, cli) -> None:
    result = cli("plugins", pythonpath=site)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].split("  ")[0] == "DISTRIBUTION"
    for column in ("VERSION", "ENTRY POINTS", "HOOKS", "REGISTERS", "STATUS"):
        assert column in lines[0]
    typo = next(line for line in lines if line.startswith("metaframe-typo "))
    assert typo.endswith("did you mean metaframe_register_heads? (metaframe_register_head is not a hook)")
    assert "warn: " in typo
    probe = next(line for line in lines if line.startswith("metaframe-probe "))
    assert "heads: probe" in probe and probe.endswith("  ok")
    assert "failed: metaframe.plugins:noimport" in next(line for line in lines if line.startswith("metaframe-noimport "))

    debug = cli("plugins", "--debug", pythonpath=site)
    assert "Traceback (most recent call last)" in debug.stdout


def test_all_ok_exits_zero_and_help_explains_columns(tmp_path: Path, cli) -> None:
    site = tmp_path / "site"
    third_party(site)
    result = cli("plugins", "--format", "json", pythonpath=site)
    assert result.returncode == 0, result.stdout
    assert all(row["status"] == "ok" for row in json.loads(result.stdout))
    helptext = cli("plugins", "--help").stdout
    for column in ("DISTRIBUTION", "VERSION", "ENTRY POINTS", "HOOKS", "REGISTERS", "STATUS"):
        assert f"  {column}  " in helptext or f"  {column} " in helptext


def test_unknown_head_names_the_plugins_that_failed(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from metaframe_registry import Registry, UnknownEncoderError, UnknownHeadError

    monkeypatch.syspath_prepend(str(site))
    registry = Registry()
    with pytest.raises(UnknownHeadError) as info:
        registry.head("typo_head")
    message = str(info.value)
    assert "metaframe-typo 0.1.0" in message and "did you mean metaframe_register_heads?" in message
    assert "metaframe-noimport 0.0.1" in message and "this_module_does_not_exist" in message
    with pytest.raises(UnknownEncoderError, match="encoder table is corrupt"):
        registry.encoder("mystery")
    assert registry.head("probe").provider == "metaframe-probe:probe"  # the others still work


BAD_FACTORY_HOOKS = """
from metaframe_registry import hookimpl

@hookimpl
def metaframe_register_heads(register):
    register("fine", "metaframe.heads:ClassificationHead")
    register("nocolon", "metaframe.heads.ClassificationHead")
"""


def test_validate_checks_hook_entry_points(site: Path, cli) -> None:
    ok = cli("validate", "metaframe-probe", "--imports", pythonpath=site)
    assert ok.returncode == 0, ok.stdout
    assert "hooks: metaframe_register_heads" in ok.stdout
    assert "head 'probe' (metaframe.heads:ClassificationHead) registers and imports" in ok.stdout
    assert "no entry points in group" not in ok.stdout  # hooks only is a complete plugin

    typo = cli("validate", "metaframe-typo", pythonpath=site)
    assert typo.returncode == 0  # a warning does not fail
    assert "warn  metaframe.plugins entry point typo = mf_typo_hooks: implements no known hook; did you mean" in typo.stdout

    broken = cli("validate", "metaframe-noimport", pythonpath=site)
    assert broken.returncode == 1
    assert "FAIL  metaframe.plugins entry point noimport = mf_noimport_hooks: cannot import: ModuleNotFoundError" in broken.stdout

    raises = cli("validate", "metaframe-raises", "--format", "json", pythonpath=site)
    findings = json.loads(raises.stdout)["findings"]
    assert raises.returncode == 1
    assert any(f["level"] == "FAIL" and "encoder table is corrupt" in f["message"] for f in findings)


def test_validate_refuses_bad_registrations_in_a_source_folder(tmp_path: Path, cli) -> None:
    folder = tmp_path / "metaframe-heads"
    folder.mkdir()
    (folder / "mf_heads.py").write_text(BAD_FACTORY_HOOKS)
    (folder / "pyproject.toml").write_text(
        '[project]\nname = "metaframe-heads"\nversion = "0.1.0"\n'
        '[project.entry-points."metaframe.plugins"]\nheads = "mf_heads"\n'
    )
    result = cli("validate", str(folder))
    assert result.returncode == 1, result.stdout
    assert "head 'fine' (metaframe.heads:ClassificationHead) registers" in result.stdout
    assert "FAIL  metaframe.plugins entry point heads = mf_heads: head 'nocolon': factory" in result.stdout
    assert "is not a 'module:attr' reference" in result.stdout

    (folder / "mf_heads.py").write_text(BAD_FACTORY_HOOKS.replace('"fine"', '"classification"'))
    clash = cli("validate", str(folder))
    assert "head 'classification' (metaframe.heads:ClassificationHead) is already registered by metaframe:builtin" in clash.stdout
