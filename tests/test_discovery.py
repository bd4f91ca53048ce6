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


MARKED_MANIFEST = """
import os, pathlib
pathlib.Path(os.environ["MF_MARKER"]).write_text("imported")
from metaframe_registry import ModalityManifest

def manifest():
    return ModalityManifest(name="marked", description="{description}", tokenizer="a:b", reader="a:b")
"""


def _listing(cli, site: Path, cache: Path | str, marker: Path) -> dict:  # type: ignore[no-untyped-def]
    result = cli(
        "list-modalities", "--format", "json", pythonpath=site, env_extra={"METAFRAME_CACHE_DIR": str(cache), "MF_MARKER": str(marker)}
    )
    assert result.returncode == 0, result.stderr
    return {r["name"]: r for r in json.loads(result.stdout)}


@pytest.fixture
def marked(tmp_path: Path) -> Path:
    """A site with one modality whose entry module leaves a marker file when imported."""
    site = tmp_path / "site"
    make_distribution(
        site,
        "metaframe-marked",
        "1.0.0",
        {"metaframe.modalities": {"marked": "mf_marked:manifest"}},
        {"mf_marked/__init__.py": MARKED_MANIFEST.format(description="first")},
    )
    return site


def test_listing_cache_skips_unchanged_entry_modules_and_sees_edits(marked: Path, tmp_path: Path, cli) -> None:
    cache, marker = tmp_path / "cache", tmp_path / "marker"
    first = _listing(cli, marked, cache, marker)
    assert first["marked"]["description"] == "first" and marker.exists()
    assert (cache / "manifests-v1.json").is_file()

    marker.unlink()
    second = _listing(cli, marked, cache, marker)
    assert not marker.exists(), "an unchanged, cached entry module was imported again"
    assert second["marked"] == first["marked"] and second["image"]["status"] == "ok"

    module = marked / "mf_marked" / "__init__.py"  # an edit (new size and mtime) invalidates the entry
    module.write_text(MARKED_MANIFEST.format(description="second, edited"))
    os.utime(module, ns=(module.stat().st_mtime_ns + 10**9,) * 2)
    third = _listing(cli, marked, cache, marker)
    assert marker.exists() and third["marked"]["description"] == "second, edited"


def test_listing_cache_survives_corrupt_and_unwritable_caches(marked: Path, tmp_path: Path, cli) -> None:
    cache, marker = tmp_path / "cache", tmp_path / "marker"
    expected = _listing(cli, marked, tmp_path / "fresh", marker)
    cache.mkdir()
    for garbage in ("{not json", "[1, 2]", '{"schema": 1, "entries": []}', "\x00\xff"):
        (cache / "manifests-v1.json").write_text(garbage)
        assert _listing(cli, marked, cache, marker) == expected
    data = json.loads((cache / "manifests-v1.json").read_text())  # rewritten whole
    key = next(k for k in data["entries"] if "mf_marked" in k)
    data["entries"][key] = {"fields": "not a dict"}  # valid JSON, malformed entry: a miss
    (cache / "manifests-v1.json").write_text(json.dumps(data))
    marker.unlink()
    assert _listing(cli, marked, cache, marker) == expected and marker.exists()

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert _listing(cli, marked, blocker / "cache", marker) == expected  # the cache folder cannot be made
    marker.unlink()
    assert _listing(cli, marked, "", marker) == expected and marker.exists()  # METAFRAME_CACHE_DIR="" turns it off


def test_broken_plugins_are_never_cached(site: Path, tmp_path: Path, cli) -> None:
    cache = tmp_path / "cache"
    for _ in range(2):
        result = cli("list-modalities", "--format", "json", pythonpath=site, env_extra={"METAFRAME_CACHE_DIR": str(cache)})
        rows = {(r["name"], r["distribution"]): r for r in json.loads(result.stdout)}
        assert rows[("broken", "metaframe-broken")]["status"] == "error"
        assert "this_module_does_not_exist" in rows[("broken", "metaframe-broken")]["error"]
    assert "mf_broken" not in (cache / "manifests-v1.json").read_text()


def test_entry_module_importing_torch_is_listed_as_warn(tmp_path: Path, cli) -> None:
    site = tmp_path / "site"
    make_distribution(
        site,
        "metaframe-heavy",
        "0.1.0",
        {"metaframe.modalities": {"heavy": "mf_heavy:manifest"}},
        {
            "mf_heavy/__init__.py": "import torch\nfrom metaframe_registry import ModalityManifest\n"
            "def manifest():\n    return ModalityManifest(name='heavy', description='x', tokenizer='a:b', reader='a:b')\n"
        },
    )
    env = {"METAFRAME_LOAD_PLUGINS": "metaframe-heavy", "METAFRAME_CACHE_DIR": str(tmp_path / "cache")}
    for _ in range(2):  # the second listing answers from the cache, warning included
        rows = json.loads(cli("list-modalities", "--format", "json", pythonpath=site, env_extra=env).stdout)
        assert [(r["name"], r["status"]) for r in rows] == [("heavy", "warn")]
        assert "imports torch" in rows[0]["warning"] and rows[0]["error"] is None
    table = cli("list-modalities", pythonpath=site, env_extra=env).stdout.splitlines()
    assert table[1].startswith("heavy") and "warn: the entry module imports torch" in table[1]


def test_warm_listing_imports_neither_pydantic_nor_entry_modules(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys, io, contextlib\n"
        "from metaframe.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['list-modalities'])\n"
        "print(','.join(m for m in ('pydantic', 'pluggy', 'metaframe_image', 'metaframe.engine') if m in sys.modules))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "METAFRAME_LOAD_PLUGINS"}
    env["METAFRAME_CACHE_DIR"] = str(tmp_path / "cache")
    cold = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert cold.returncode == 0, cold.stderr
    assert "pydantic" in cold.stdout and "metaframe_image" in cold.stdout  # validated on the first listing
    warm = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert warm.returncode == 0, warm.stderr
    assert warm.stdout.strip() == "", f"a warm listing imported {warm.stdout.strip()}"


@pytest.fixture
def exiting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Plugins that call sys.exit: a modality and a hook module at import, a hook when called."""
    site = tmp_path / "exiting"
    third_party(site)
    make_distribution(
        site,
        "metaframe-quitter",
        "0.1.0",
        {"metaframe.modalities": {"quitter": "mf_quitter:manifest"}, "metaframe.plugins": {"quitter": "mf_quitter_hooks"}},
        {"mf_quitter/__init__.py": "import sys\nsys.exit(3)\n", "mf_quitter_hooks/__init__.py": "raise SystemExit('bye')\n"},
    )
    make_distribution(
        site,
        "metaframe-hook-quitter",
        "0.2.0",
        {"metaframe.plugins": {"hq": "mf_hq"}},
        {
            "mf_hq/__init__.py": "import sys\nfrom metaframe_registry import hookimpl\n"
            "@hookimpl\ndef metaframe_register_heads(register):\n    sys.exit(5)\n"
        },
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv("METAFRAME_LOAD_PLUGINS", raising=False)
    return site


def test_plugin_calling_sys_exit_is_a_failed_plugin_not_an_exit(exiting: Path) -> None:
    records = {r.name: r for r in discover_modalities()}
    assert records["quitter"].status == "error" and "SystemExit: 3" in records["quitter"].error
    assert "sys.exit" in records["quitter"].error
    registry = Registry()
    assert registry.manifest("image").distribution == "metaframe-image"  # the others still work
    assert "quitter" not in registry.modality_names()
    with pytest.raises(PluginLoadError, match="SystemExit: 3"):
        registry.manifest("quitter")
    hooks = {r.distribution: r for r in registry.plugin_records()}
    assert hooks["metaframe-quitter"].status == "error" and "SystemExit: bye" in hooks["metaframe-quitter"].error
    assert "classification" in registry.heads()  # a hook calling sys.exit is that plugin's failure
    failed = " ".join(registry.failed_plugins())
    assert "metaframe_register_heads raised SystemExit: 5" in failed


def test_keyboard_interrupt_in_a_plugin_still_interrupts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "interrupting"
    make_distribution(
        site, "metaframe-ctrlc", "0.1.0", {"metaframe.modalities": {"ctrlc": "mf_ctrlc:manifest"}},
        {"mf_ctrlc/__init__.py": "raise KeyboardInterrupt\n"},
    )
    monkeypatch.syspath_prepend(str(site))
    with pytest.raises(KeyboardInterrupt):
        discover_modalities(env={"METAFRAME_LOAD_PLUGINS": "metaframe-ctrlc"})


def test_cli_lists_despite_a_plugin_calling_sys_exit(exiting: Path, cli) -> None:
    result = cli("list-modalities", pythonpath=exiting)
    assert result.returncode == 0, result.stderr
    quitter = next(line for line in result.stdout.splitlines() if line.startswith("quitter"))
    assert "error: SystemExit: 3" in quitter
    assert any(line.startswith("image") and line.rstrip().endswith("ok") for line in result.stdout.splitlines())
    strict = cli("list-modalities", "--strict", pythonpath=exiting)
    assert strict.returncode == 1 and "quitter (metaframe-quitter)" in strict.stderr
    assert "quitter" in strict.stdout  # the listing is still printed


def test_strict_exit_status_only_for_failures(site: Path, cli) -> None:
    env = {"METAFRAME_LOAD_PLUGINS": "metaframe-sonar,metaframe-image"}
    clean = cli("list-modalities", "--strict", pythonpath=site, env_extra=env)
    assert clean.returncode == 0, clean.stderr
    assert cli("list-modalities", "--strict", "sonar", pythonpath=site).returncode == 0  # only listed rows count
    assert cli("list-modalities", "--strict", "broken", "--format", "json", pythonpath=site).returncode == 1


def test_listing_and_lookup_agree_for_duplicate_and_broken_names(site: Path) -> None:
    import metaframe
    from metaframe_registry import use_registry

    with use_registry(Registry()):
        names = metaframe.list_modalities()
        assert "sonar" in names
        assert "image" not in names, "image is listed, but get_modality('image') raises (two providers)"
        for name in names:
            metaframe.get_modality(name)  # every listed name can be used
        shown = {r.name for r in metaframe.list_modalities(include_errors=True)}
        for name in shown - set(names):
            with pytest.raises((DuplicateModalityError, PluginLoadError)):
                metaframe.get_modality(name)
    chosen = Registry(env={"METAFRAME_LOAD_PLUGINS": "metaframe-image,metaframe-sonar"})
    assert "image" in chosen.modality_names()  # choosing one provider makes it usable again


def test_tokenizer_module_calling_sys_exit_is_a_resolve_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from metaframe_registry import ResolveError
    from metaframe_registry.resolve import resolve

    (tmp_path / "mf_exit_tok.py").write_text("import sys\nsys.exit(7)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ResolveError, match="cannot import module 'mf_exit_tok' .*SystemExit: 7"):
        resolve("mf_exit_tok:build")
