"""Discovery over real installed distributions: broken, duplicate, invalid and valid plugins."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from distributions import make_distribution, third_party
from metaframe_registry import (
    DuplicateModalityError,
    PluginLoadError,
    Registry,
    UnknownModalityError,
    discover_modalities,
)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder of extra installed distributions, visible to this process and to subprocesses."""
    site = tmp_path / "site"
    third_party(site)  # valid: sonar from metaframe-sonar 1.2.3
    make_distribution(  # fails to import
        site,
        "metaframe-broken",
        "0.0.1",
        {"metaframe.modalities": {"broken": "mf_broken:manifest"}},
        {"mf_broken/__init__.py": "import this_module_does_not_exist\n"},
    )
    make_distribution(  # imports, but the manifest is invalid
        site,
        "metaframe-invalid",
        "0.0.2",
        {"metaframe.modalities": {"invalid": "mf_invalid:manifest"}},
        {"mf_invalid/__init__.py": "def manifest():\n    return {'name': 'invalid', 'description': 'x', 'tokenizer': 'no colon', 'reader': 'a:b'}\n"},
    )
    make_distribution(  # a second distribution claiming the name "image"
        site,
        "metaframe-image-fork",
        "9.9.9",
        {"metaframe.modalities": {"image": "mf_fork:manifest"}},
        {
            "mf_fork/__init__.py": "from metaframe_registry import ModalityManifest\n"
            "def manifest():\n    return ModalityManifest(name='image', description='fork', tokenizer='a:b', reader='a:b')\n"
        },
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv("METAFRAME_LOAD_PLUGINS", raising=False)
    return site


def test_statuses_of_every_plugin(site: Path) -> None:
    records = {(r.name, r.distribution): r for r in discover_modalities()}
    assert records[("sonar", "metaframe-sonar")].status == "ok"
    assert records[("sonar", "metaframe-sonar")].manifest.version == "1.2.3"
    broken = records[("broken", "metaframe-broken")]
    assert broken.status == "error"
    assert "this_module_does_not_exist" in broken.error and "\n" not in broken.error
    assert "Traceback" in broken.traceback
    invalid = records[("invalid", "metaframe-invalid")]
    assert invalid.status == "error" and "tokenizer" in invalid.error and "module:attr" in invalid.error
    assert records[("image", "metaframe-image")].status == "ok"


def test_duplicate_name_raises_naming_both_when_used(site: Path) -> None:
    registry = Registry()
    assert "sonar" in registry.modality_names()
    with pytest.raises(DuplicateModalityError) as info:
        registry.manifest("image")
    message = str(info.value)
    assert "metaframe-image 0.1.0" in message and "metaframe-image-fork 9.9.9" in message
    assert "image = metaframe_image:manifest" in message and "image = mf_fork:manifest" in message


def test_broken_plugin_raises_when_used_and_others_still_work(site: Path) -> None:
    registry = Registry()
    with pytest.raises(PluginLoadError, match="this_module_does_not_exist"):
        registry.manifest("broken")
    assert registry.manifest("sonar").distribution == "metaframe-sonar"


def test_unknown_modality_lists_installed(site: Path) -> None:
    with pytest.raises(UnknownModalityError) as info:
        Registry().manifest("smell")
    assert "'smell'" in str(info.value) and "sonar" in str(info.value)


def test_load_plugins_env_limits_and_blocks(site: Path) -> None:
    only = Registry(env={"METAFRAME_LOAD_PLUGINS": "metaframe_sonar"})  # _ and - are the same name
    assert [r.name for r in only.modality_records()] == ["sonar"]
    assert Registry(env={"METAFRAME_LOAD_PLUGINS": ""}).modality_records() == []
    # the core's built-in heads still load: they are the core, not a plugin
    assert "classification" in Registry(env={"METAFRAME_LOAD_PLUGINS": ""}).heads()
    # blocking the fork by listing every other distribution resolves the duplicate
    chosen = Registry(env={"METAFRAME_LOAD_PLUGINS": "metaframe-image,metaframe-sonar"})
    assert chosen.manifest("image").distribution == "metaframe-image"


def test_third_party_modality_builds_and_runs_through_the_registry(site: Path) -> None:
    import torch

    import metaframe
    from metaframe_registry import use_registry

    with use_registry(Registry()):
        sonar = metaframe.get_modality("sonar")
        batch = sonar.collate([sonar.read([[1.0, 2.0, 3.0, 4.0]] * 3) for _ in range(2)])
        tok = sonar.build_tokenizer(embed_dim=8)
        encoder = metaframe.FrozenEncoder(embed_dim=8, depth=1, num_heads=2)
        model = metaframe.MetaModel(encoder, {"sonar": tok}, {"y": metaframe.build_head("regression", embed_dim=8)})
        assert model({"sonar": batch})["y"].shape == (2, 1)
        assert isinstance(batch, torch.Tensor)


def test_cli_lists_statuses_in_json_and_table(site: Path, cli) -> None:
    result = cli("list-modalities", "--format", "json", pythonpath=site)
    assert result.returncode == 0, result.stderr
    rows = {(r["name"], r["distribution"]): r for r in json.loads(result.stdout)}
    assert rows[("sonar", "metaframe-sonar")]["status"] == "ok"
    assert rows[("broken", "metaframe-broken")]["status"] == "error"
    assert "traceback" not in rows[("broken", "metaframe-broken")]
    fork = rows[("image", "metaframe-image-fork")]
    assert fork["status"] == "error" and "metaframe-image 0.1.0" in fork["error"]

    table = cli("list-modalities", pythonpath=site)
    assert table.returncode == 0
    lines = table.stdout.splitlines()
    assert lines[0].split()[:5] == ["NAME", "DISTRIBUTION", "VERSION", "INPUTS", "STATUS"]
    broken_line = next(line for line in lines if line.startswith("broken"))
    assert "error: ModuleNotFoundError" in broken_line

    debug = cli("list-modalities", "--debug", pythonpath=site)
    assert "Traceback (most recent call last)" in debug.stdout


def test_cli_env_var_limits_plugins(site: Path, cli) -> None:
    result = cli("list-modalities", "--format", "json", pythonpath=site, env_extra={"METAFRAME_LOAD_PLUGINS": ""})
    assert result.returncode == 0 and json.loads(result.stdout) == []


def test_list_modalities_imports_no_torch(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys, io, contextlib\n"
        "from metaframe.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['list-modalities', '--format', 'json'])\n"
        "heavy = [m for m in ('torch', 'timm', 'safetensors', 'numpy', 'torchvision') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "METAFRAME_LOAD_PLUGINS"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"list-modalities imported {out.stdout.strip()}"


def test_installed_with_pip_appears(tmp_path: Path, cli) -> None:
    """A distribution built from a pyproject and installed by pip is discovered like any other."""
    import subprocess
    import sys

    from distributions import VALID_TOKENIZER, manifest_source

    project = tmp_path / "proj"
    (project / "mf_lidar").mkdir(parents=True)
    (project / "mf_lidar" / "__init__.py").write_text(manifest_source("lidar", "mf_lidar"))
    (project / "mf_lidar" / "tok.py").write_text(VALID_TOKENIZER)
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "metaframe-lidar"\nversion = "0.3.0"\n'
        '[project.entry-points."metaframe.modalities"]\nlidar = "mf_lidar:manifest"\n'
        '[tool.setuptools]\npackages = ["mf_lidar"]\n'
    )
    target = tmp_path / "target"
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", str(target), str(project)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert pip.returncode == 0, pip.stderr
    result = cli("list-modalities", "--format", "json", pythonpath=target)
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["lidar"]["status"] == "ok" and rows["lidar"]["version"] == "0.3.0"
