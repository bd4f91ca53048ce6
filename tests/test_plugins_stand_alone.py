"""Each built-in plugin stands alone: it needs the core's public API and nothing else of ours.

- Statically: its pyproject depends on no other metaframe distribution, and no module or test
  of it imports another plugin's package or names one in a ``"module:attr"`` reference.
- Running: its own test suite passes as if it were installed alone (core + registry + it):
  every other plugin's package is unimportable (an import blocker installed through
  ``sitecustomize``, so CLI subprocesses the tests start are blocked too) and
  ``METAFRAME_LOAD_PLUGINS`` keeps entry-point discovery to its distribution.

This is where the plugin suites run in the README's test command (``testpaths`` is ``tests``);
``pytest plugins/<name>/tests`` still runs one suite directly, with everything installed.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"metaframe", "metaframe_registry"}  # the core's public API: allowed everywhere


@dataclass(frozen=True)
class Plugin:
    folder: Path
    distribution: str
    package: str


def built_in_plugins() -> list[Plugin]:
    plugins = []
    for pyproject in sorted((ROOT / "plugins").glob("*/pyproject.toml")):
        project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
        plugins.append(Plugin(pyproject.parent, project["name"], "metaframe_" + pyproject.parent.name))
    return plugins


PLUGINS = built_in_plugins()
PACKAGES = {p.package for p in PLUGINS}
IDS = [p.folder.name for p in PLUGINS]
REFERENCE = re.compile(r"\b(metaframe_[a-z0-9_]+)(?:\.[a-z0-9_.]+)?:[A-Za-z_]")

BLOCKER = '''\
import importlib.abc
import os
import sys

_BLOCKED = frozenset(os.environ["METAFRAME_TEST_BLOCKED_PACKAGES"].split(","))


class _SiblingPluginBlocker(importlib.abc.MetaPathFinder):
    """Makes other plugins' packages unimportable, as if they were not installed."""

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in _BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (not installed in this stand-alone run)", name=name)
        return None


sys.meta_path.insert(0, _SiblingPluginBlocker())
'''


def foreign_references(plugin: Plugin, root: Path = ROOT) -> list[str]:
    """``file:line: name`` for each import of, or reference to, another plugin's package."""
    found = []
    others = PACKAGES - {plugin.package}
    for path in sorted(plugin.folder.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                names = [m.group(1) for m in REFERENCE.finditer(node.value)]
            for name in names:
                if name.partition(".")[0] in others:
                    found.append(f"{path.relative_to(root)}:{node.lineno}: {name}")
    return found


@pytest.mark.parametrize("plugin", PLUGINS, ids=IDS)
def test_the_plugin_depends_on_no_other_metaframe_distribution(plugin):
    project = tomllib.loads((plugin.folder / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    names = {re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].strip().lower().replace("_", "-") for r in requirements}
    ours = sorted(n for n in names if n.startswith("metaframe") and n != "metaframe")
    assert not ours, f"{plugin.folder.name}/pyproject.toml depends on other metaframe distributions: {ours}"
    assert "metaframe" in names, f"{plugin.folder.name}/pyproject.toml must depend on the core (metaframe)"


@pytest.mark.parametrize("plugin", PLUGINS, ids=IDS)
def test_the_plugin_imports_no_other_plugin(plugin):
    found = foreign_references(plugin)
    assert not found, "imports of other plugins (use metaframe.nn / metaframe.ops instead):\n" + "\n".join(found)


def test_the_scan_finds_a_sibling_import(tmp_path):
    folder = tmp_path / "plugins" / "probe"
    (folder / "metaframe_probe").mkdir(parents=True)
    (folder / "metaframe_probe" / "tokenizer.py").write_text(
        "from metaframe_image.tokenizer import PatchTokenizer\nREF = 'metaframe_time_series.revin:RevIN'\n"
        "from metaframe.nn import PatchEmbed2d\n"
    )
    found = foreign_references(Plugin(folder, "metaframe-probe", "metaframe_probe"), root=tmp_path)
    assert [f.rsplit(": ", 1)[1] for f in found] == ["metaframe_image.tokenizer", "metaframe_time_series"]


def stand_alone_env(plugin: Plugin, site: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    env["METAFRAME_LOAD_PLUGINS"] = plugin.distribution
    env["METAFRAME_TEST_BLOCKED_PACKAGES"] = ",".join(sorted(PACKAGES - {plugin.package}))
    env["PYTHONPATH"] = os.pathsep.join([str(site), *filter(None, [env.get("PYTHONPATH")])])
    return env


@pytest.fixture(scope="module")
def blocker_site(tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("stand_alone_site")
    (site / "sitecustomize.py").write_text(BLOCKER, encoding="utf-8")
    return site


def test_the_blocker_hides_the_other_plugins_and_only_them(blocker_site):
    image = next(p for p in PLUGINS if p.folder.name == "image")
    probe = (
        "import importlib, metaframe\n"
        "for name in ('metaframe_image', 'metaframe_text'):\n"
        "    try:\n        importlib.import_module(name); print(name, 'ok')\n"
        "    except ModuleNotFoundError:\n        print(name, 'blocked')\n"
        "print(sorted(metaframe.list_modalities()))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe], env=stand_alone_env(image, blocker_site), capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["metaframe_image ok", "metaframe_text blocked", "['image']"]


@pytest.mark.parametrize("plugin", PLUGINS, ids=IDS)
def test_the_plugin_tests_pass_installed_alone(plugin, blocker_site, record_property):
    tests = plugin.folder / "tests"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests.relative_to(ROOT))],
        cwd=ROOT,
        env=stand_alone_env(plugin, blocker_site),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    output = run.stdout + run.stderr
    summary = (output.strip().splitlines() or ["no output"])[-1].strip("= ")
    record_property("stand_alone_summary", f"{plugin.folder.name}: {summary}")  # shown at the end of the run
    assert run.returncode == 0, f"{plugin.folder.name}'s tests, run stand-alone, failed:\n{output[-6000:]}"
    assert re.search(r"\b[1-9][0-9]* passed\b", output), f"no test passed:\n{output[-3000:]}"
