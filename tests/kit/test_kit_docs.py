"""The documentation cannot drift from the code.

- every ```python block of docs/**/*.md and README.md runs (a page's blocks in order, in one
  namespace, in a temporary working directory); ```python no-run marks a block that must not;
- a block whose info string holds ``file=PATH`` is a whole file (the tutorial's plugin files):
  it starts with the comment ``file: PATH`` and uses no name it does not import or define, so it
  works copied into its own file (tests/kit/test_kit_tutorial.py installs them);
- the hook and manifest reference names every hook and every manifest field;
- the CLI reference has a section per sub-command;
- each modality page belongs to a plugin in plugins/, and each plugin has a page;
- relative links between pages resolve.
"""

from __future__ import annotations

import argparse
import builtins
import re
import symtable
from pathlib import Path

import pytest

from metaframe_registry import HOOK_NAMES, ModalityManifest, reset_default_registry

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md")) + [ROOT / "README.md"]
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```\s*$", re.S | re.M)


def python_blocks(page: Path) -> list[tuple[int, str]]:
    """(line number, code) of each block whose info string is exactly 'python'."""
    text = page.read_text(encoding="utf-8")
    blocks = []
    for match in FENCE.finditer(text):
        info = match.group(1).strip().split()
        if info[:1] == ["python"] and "no-run" not in info:
            blocks.append((text.count("\n", 0, match.start()) + 2, match.group(2)))
    return blocks


RUNNABLE = [p for p in PAGES if python_blocks(p)]
MODULE_NAMES = {"__name__", "__file__", "__doc__", "__spec__", "__package__", "__loader__", "__builtins__"}


def file_blocks(page: Path) -> dict[str, tuple[int, str, str]]:
    """PATH -> (line number, language, content) of each block whose info string holds ``file=PATH``."""
    text = page.read_text(encoding="utf-8")
    files: dict[str, tuple[int, str, str]] = {}
    for match in FENCE.finditer(text):
        info = match.group(1).strip().split()
        for word in info:
            if word.startswith("file="):
                path = word[len("file="):]
                line = text.count("\n", 0, match.start()) + 2
                assert path not in files, f"{page.name}:{line}: a second block for file {path}"
                files[path] = (line, info[0] if info else "", match.group(2))
    return files


def undefined_globals(code: str, filename: str = "<block>") -> list[str]:
    """Names a module's code reads but never imports, defines or gets from builtins (sorted).

    The page runs its blocks in one namespace, so a file block that forgets ``import numpy as
    np`` still runs there; copied into its own file it fails. This finds that without running it.
    """
    top = symtable.symtable(code, filename, "exec")
    defined = {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported()}
    known = defined | set(dir(builtins)) | MODULE_NAMES
    missing: set[str] = set()

    def visit(table: symtable.SymbolTable) -> None:
        for sym in table.get_symbols():
            if sym.is_referenced() and (table is top or sym.is_global()) and sym.get_name() not in known:
                missing.add(sym.get_name())
        for child in table.get_children():
            visit(child)

    visit(top)
    return sorted(missing)


FILE_PAGES = [p for p in PAGES if file_blocks(p)]


def test_the_undefined_name_finder_finds_a_missing_import():
    # guards the checker below: it must see a name used inside a function and never imported
    code = "from pathlib import Path\n\n\ndef write(d: Path):\n    return [np.zeros(1) for _ in range(2)], len(d.name)\n"
    assert undefined_globals(code) == ["np"]
    assert undefined_globals("import numpy as np\n" + code) == []


@pytest.mark.parametrize("page", FILE_PAGES, ids=[str(p.relative_to(ROOT)) for p in FILE_PAGES])
def test_file_blocks_name_their_path_and_stand_alone(page):
    problems = []
    for path, (line, language, code) in file_blocks(page).items():
        first = code.splitlines()[0] if code.strip() else ""
        if f"file: {path}" not in first:
            problems.append(f"{page.name}:{line}: block for {path} must start with the comment 'file: {path}', found {first!r}")
        if language == "python":
            missing = undefined_globals(code, f"{page.name}:{line}:{path}")
            if missing:
                problems.append(f"{page.name}:{line}: {path} uses {', '.join(missing)} without importing or defining it")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("page", RUNNABLE, ids=[str(p.relative_to(ROOT)) for p in RUNNABLE])
def test_the_python_examples_of_the_page_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    try:
        for line, code in python_blocks(page):
            compiled = compile("\n" * (line - 1) + code, str(page), "exec")
            exec(compiled, namespace)  # noqa: S102 - running our own documentation is the point
    finally:
        reset_default_registry()


def test_runnable_examples_are_found():
    # guards the extractor: a broken regular expression would silently run nothing
    assert ROOT / "README.md" in RUNNABLE and DOCS / "getting-started.md" in RUNNABLE


def test_the_reference_names_every_hook_and_every_manifest_field():
    text = (DOCS / "plugin-reference.md").read_text(encoding="utf-8")
    missing = [f"hook {h}" for h in HOOK_NAMES if f"`{h}" not in text]
    missing += [f"manifest field {f}" for f in ModalityManifest.model_fields if f"`{f}`" not in text]
    assert not missing, f"docs/plugin-reference.md does not document: {', '.join(missing)}"


def test_the_cli_reference_has_a_section_per_sub_command():
    from metaframe.cli.main import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    missing = [name for name in sub.choices if f"## `metaframe {name}" not in text]
    assert not missing, f"docs/cli.md has no '## `metaframe NAME`' section for: {', '.join(missing)}"


def test_every_built_in_plugin_has_a_modality_page_and_no_page_is_a_placeholder():
    plugins = {p.parent.name for p in (ROOT / "plugins").glob("*/pyproject.toml")}
    pages = {p.stem for p in (DOCS / "modalities").glob("*.md")} - {"index"}
    assert pages <= plugins, f"pages for modalities that do not exist: {sorted(pages - plugins)}"
    assert plugins <= pages, f"write docs/modalities/<name>.md for: {sorted(plugins - pages)}"
    index = (DOCS / "modalities" / "index.md").read_text(encoding="utf-8")
    assert all(f"({name}.md)" in index for name in pages), "docs/modalities/index.md must link every page"


def test_relative_links_between_pages_resolve():
    broken = []
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#\s]+\.md)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if not target.startswith("http") and not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert not broken, f"broken links: {broken}"


def test_the_api_page_names_every_public_name():
    import metaframe
    import metaframe.testing

    text = (DOCS / "api.md").read_text(encoding="utf-8")
    names = [*metaframe.__all__, *metaframe.testing.__all__]
    missing = [n for n in names if f"`{n}" not in text]
    assert not missing, f"docs/api.md does not mention: {', '.join(missing)}"


def test_the_testing_page_describes_every_check():
    from metaframe.testing import CHECK_NAMES

    text = (DOCS / "testing-your-plugin.md").read_text(encoding="utf-8")
    missing = [name for name in CHECK_NAMES if f"| `{name}` |" not in text]
    assert not missing, f"docs/testing-your-plugin.md has no table row for: {', '.join(missing)}"


def test_modality_pages_name_every_default_option_of_their_manifest():
    import metaframe

    missing = []
    for name in metaframe.list_modalities():
        page = DOCS / "modalities" / f"{name}.md"
        if not page.exists():
            continue  # reported by the page test above, for built-in plugins
        manifest = metaframe.get_modality(name).manifest
        text = page.read_text(encoding="utf-8")
        for key in sorted({*manifest.tokenizer_options, *manifest.reader_options}):
            if f"`{key}`" not in text:
                missing.append(f"{name}: {key}")
    assert not missing, f"options in a manifest but not on its docs page: {missing}"
