"""``metaframe demo``: the tasks come from the plugins' manifests, one shared encoder, a table against chance."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from cli_runner import run_cli
from distributions import make_distribution, manifest_source, VALID_TOKENIZER

import metaframe
from metaframe.pretrained import available_pretrained

ROW = re.compile(r"^(\w+)\s+.*\s(\d+)/(\d+)\s+((?:[\d.]+\s+)+)\d+s$")


def _rows(out: str) -> dict[str, list[float]]:
    """Trained rows of the table: modality -> accuracies (one per encoder column), then chance."""
    rows = {}
    for line in out.splitlines():
        match = ROW.match(line)
        if match:
            rows[match.group(1)] = [float(v) for v in match.group(4).split()]
    return rows


def _demo(*args: str, **kwargs) -> subprocess.CompletedProcess[str]:
    return run_cli("demo", "--quick", *args, env_extra={"OMP_NUM_THREADS": "1"}, timeout=600, **kwargs)


def test_demo_quick_beats_chance_on_every_plugin_task_with_one_encoder(tmp_path: Path) -> None:
    done = _demo("--output-dir", str(tmp_path / "demo"))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    if available_pretrained():  # the packaged encoder, and a random one of its shape beside it
        assert "pretrained frozen encoder" in out and "random frozen encoder" in out and "PRETRAINED" in out
        columns = ["pretrained", "random"]
    else:
        assert "RANDOMLY INITIALISED" in out and "--encoder" in out
        columns = ["random"]
    with_demo = {n for n in metaframe.list_modalities() if metaframe.get_modality(n).manifest.demo}
    assert {"image", "tabular", "time_series", "audio"} <= with_demo  # the built-in plugins that ship a task
    rows = _rows(out)
    assert set(rows) == with_demo, out
    for name, values in rows.items():
        *accuracies, chance = values
        assert len(accuracies) == len(columns)
        assert all(a > chance + 0.1 for a in accuracies), f"{name}: {accuracies} vs chance {chance}\n{out}"
        for column in columns:
            assert (tmp_path / "demo" / column / name / "config.yaml").is_file()
    assert "joint forward pass" in out and "same encoder object: True" in out


SONAR_DEMO = """
import numpy as np
from metaframe.demo import DemoTask


def _load(quick):
    rng = np.random.default_rng(0)
    labels = [i % 2 for i in range(48)]
    return [rng.normal(3.0 * y - 1.5, 0.5, size=(3, 4)).astype(np.float32) for y in labels], labels


def task():
    return DemoTask(modality="sonar", description="generated pings (two well separated levels)", load=_load)
"""

BROKEN_DEMO = """
def task():
    raise RuntimeError("the demo data server is down\\nsecond line of detail")
"""


def _plugin(site: Path, name: str, demo_source: str) -> None:
    module = f"mf_{name}"
    entry = manifest_source(name, module).replace(
        f'reader="{module}.tok:read",', f'reader="{module}.tok:read",\n        demo="{module}.demo:task",'
    )
    make_distribution(
        site, f"metaframe-{name}", "1.0.0", {"metaframe.modalities": {name: f"{module}:manifest"}},
        {f"{module}/__init__.py": entry, f"{module}/tok.py": VALID_TOKENIZER, f"{module}/demo.py": demo_source},
    )


def test_a_third_party_demo_task_runs_and_a_broken_one_is_one_failed_row(tmp_path: Path) -> None:
    site = tmp_path / "site"
    _plugin(site, "sonar", SONAR_DEMO)
    _plugin(site, "sonarbroken", BROKEN_DEMO)
    done = run_cli(
        "demo", "--quick", "--encoder", "random", "--epochs", "3", "--output-dir", str(tmp_path / "demo"),
        pythonpath=site, timeout=300,
        env_extra={"METAFRAME_LOAD_PLUGINS": "metaframe-sonar,metaframe-sonarbroken", "OMP_NUM_THREADS": "1"},
    )
    out = done.stdout
    assert done.returncode == 1, out + done.stderr  # a failed task is the exit status, not a crash
    assert "Traceback" not in out + done.stderr
    *accuracies, chance = _rows(out)["sonar"]
    assert accuracies[0] > chance + 0.2, out
    assert (tmp_path / "demo" / "random" / "sonar" / "config.yaml").is_file()
    failed = [line for line in out.splitlines() if line.startswith("sonarbroken")]
    assert len(failed) == 1 and "failed" in failed[0], out
    assert "mf_sonarbroken.demo:task" in failed[0] and "RuntimeError: the demo data server is down" in failed[0]
    assert "second line" not in out
    assert "1 failed: sonarbroken" in out


def test_the_new_plugin_template_ships_a_demo_task_that_learns(tmp_path: Path) -> None:
    from metaframe.cli.new_plugin import write_plugin

    plugin = tmp_path / "metaframe-probe"
    written = write_plugin("probe", plugin)
    package = plugin / "metaframe_probe"
    modules = {str(p.relative_to(plugin)): p.read_text() for p in written if p.parent == package and p.suffix == ".py"}
    assert "metaframe_probe/demo.py" in modules
    site = tmp_path / "site"
    make_distribution(site, "metaframe-probe", "0.1.0", {"metaframe.modalities": {"probe": "metaframe_probe:manifest"}},
                      modules)
    done = run_cli(
        "demo", "--quick", "--encoder", "random", "--epochs", "3", "--output-dir", str(tmp_path / "demo"),
        pythonpath=site, timeout=300, env_extra={"METAFRAME_LOAD_PLUGINS": "metaframe-probe", "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    *accuracies, chance = _rows(done.stdout)["probe"]
    assert accuracies[0] > chance + 0.2, done.stdout
