"""Every benchmark figure is backed: each script prints the machine, each docs section names its script.

Static checks of the sources (running the benchmarks takes minutes): a script in benchmarks/
must call ``print_machine()`` (benchmarks/machine.py), directly or through a helper of a sibling
script that does; every section of docs/benchmarks.md that quotes a figure must name a
``benchmarks/<script>.py`` command, and that script must exist.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
HELPERS = {"machine.py", "timing.py"}  # shared helpers, not benchmarks
FIGURE = re.compile(r"\d[\d,]*(?:\.\d+)?\s*(?:ms|s\b|x\b|×|/s|%|MiB|GFLOP)")  # GiB left out: machine lines quote RAM
COMMAND = re.compile(r"benchmarks/([\w]+\.py)")


def _calls(tree: ast.AST) -> set[str]:
    return {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}


def _functions_printing_machine(tree: ast.Module) -> set[str]:
    return {f.name for f in tree.body if isinstance(f, ast.FunctionDef) and "print_machine" in _calls(f)}


def test_every_benchmark_script_prints_the_machine() -> None:
    scripts = sorted(p for p in BENCH.glob("*.py") if p.name not in HELPERS)
    assert scripts, "no scripts found in benchmarks/"
    trees = {p.stem: ast.parse(p.read_text(), str(p)) for p in scripts}
    missing = []
    for name, tree in trees.items():
        via = {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module in trees
            for alias in node.names
            if alias.name in _functions_printing_machine(trees[node.module])
        }
        if not ({"print_machine"} | via) & _calls(tree):
            missing.append(f"benchmarks/{name}.py")
    assert not missing, f"these scripts never call print_machine() (benchmarks/machine.py): {missing}"


def test_print_machine_names_cpu_torch_threads_load_and_python(capsys) -> None:  # type: ignore[no-untyped-def]
    import sys

    sys.path.insert(0, str(BENCH))
    try:
        from machine import print_machine
    finally:
        sys.path.remove(str(BENCH))
    fp = print_machine()
    line = capsys.readouterr().out
    assert line.startswith("machine: ")
    for piece in ("torch ", "torch threads", "load average", "Python ", "flags"):
        assert piece in line, f"machine line lacks {piece!r}: {line}"
    assert fp["cpus"] and fp["python"]


def _sections(text: str) -> list[tuple[str, str]]:
    """(heading, body) for every ### section, and for ## sections without ### children."""
    parts = re.split(r"^(#{2,3} .+)$", text, flags=re.M)
    return [(parts[i].strip(), parts[i + 1]) for i in range(1, len(parts) - 1, 2)]


def test_every_docs_section_with_figures_names_its_script() -> None:
    text = (ROOT / "docs" / "benchmarks.md").read_text()
    unbacked, unknown = [], []
    sections = _sections(text)
    assert sections, "docs/benchmarks.md has no sections"
    for heading, body in sections:
        if not FIGURE.search(body):
            continue
        names = COMMAND.findall(body)
        if not names:
            unbacked.append(heading)
        unknown += [f"{heading}: benchmarks/{n}" for n in names if not (BENCH / n).is_file()]
    assert not unbacked, f"sections of docs/benchmarks.md quote figures but name no benchmarks/*.py command: {unbacked}"
    assert not unknown, f"docs/benchmarks.md names scripts that do not exist: {unknown}"
