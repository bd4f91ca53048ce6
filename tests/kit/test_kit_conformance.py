"""One place for conformance: each plugin runs the kit in its own tests
(``plugins/<name>/tests/test_<name>_conformance.py``, shaped like the template's), and this
file makes sure none is missing; plus `metaframe validate` (static checks) over every plugin
folder in plugins/.

Known failures are declared in the plugin's own conformance file, with their reason.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from metaframe.testing.parametrize import installed_modalities
from metaframe.testing.validation import validate_plugin

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"
BUILT_IN = sorted(p.parent for p in PLUGINS.glob("*/pyproject.toml"))


def test_built_in_plugins_are_found():
    # guards the glob: a moved plugins/ folder would silently check nothing
    assert len(BUILT_IN) >= 12 and PLUGINS / "image" in BUILT_IN


@pytest.mark.parametrize("folder", BUILT_IN, ids=[p.name for p in BUILT_IN])
def test_built_in_plugin_folder_validates(folder):
    report = validate_plugin(folder)
    assert report.ok, str(report)


@pytest.mark.parametrize("folder", BUILT_IN, ids=[p.name for p in BUILT_IN])
def test_built_in_plugin_runs_the_kit_in_its_own_tests(folder):
    name = folder.name
    path = folder / "tests" / f"test_{name}_conformance.py"
    assert path.is_file(), (
        f"{path} is missing: every plugin runs the conformance kit in its own tests; copy "
        "metaframe/templates/plugin/tests/test_{{name}}_conformance.py.tmpl with {{name}} = " + repr(name)
    )
    text = path.read_text(encoding="utf-8")
    call = re.search(r"@parametrize_with_checks\(\s*\[\s*['\"](\w+)['\"]\s*\]", text)
    assert call is not None, f"{path}: no @parametrize_with_checks([{name!r}], ...) decorator"
    assert call.group(1) == name, f"{path}: runs the kit on {call.group(1)!r}, expected {name!r}"
    assert re.search(r"^def test_\w+\(modality, check\)", text, re.M), f"{path}: no test_...(modality, check) function"
    assert name in installed_modalities(), f"{name!r} is not an installed modality; pip install -e {folder}"
