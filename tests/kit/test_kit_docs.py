"""The documentation cannot drift from the code.

- every ```python block of docs/**/*.md and README.md runs (a page's blocks in order, in one
  namespace, in a temporary working directory); ```python no-run marks a block that must not;
- the hook and manifest reference names every hook and every manifest field;
- the CLI reference has a section per sub-command;
- each modality page belongs to a plugin in plugins/, and each plugin has a page;
- relative links between pages resolve.
"""

from __future__ import annotations

import argparse
import re
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
