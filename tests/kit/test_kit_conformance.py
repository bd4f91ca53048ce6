"""The conformance kit over every installed modality: a new plugin is checked the moment it is installed;
and `metaframe validate` (static checks) over every plugin folder in plugins/.

Known failures are declared here with their reason (strict: when a plugin is fixed, its entry
must go). Test ids read ``test_installed_modality_conforms[<modality>-<check>]``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from metaframe.testing import parametrize_with_checks
from metaframe.testing.parametrize import installed_modalities
from metaframe.testing.validation import validate_plugin

KNOWN_FAILURES: dict[str, dict[str, str]] = {}


@parametrize_with_checks(xfail=KNOWN_FAILURES)
def test_installed_modality_conforms(modality, check):
    check(modality)


def test_the_reference_plugin_is_among_the_checked_modalities():
    # guards against an empty parametrisation silently checking nothing
    assert "image" in installed_modalities()


BUILT_IN = sorted(p.parent for p in (Path(__file__).resolve().parents[2] / "plugins").glob("*/pyproject.toml"))


@pytest.mark.parametrize("folder", BUILT_IN, ids=[p.name for p in BUILT_IN])
def test_built_in_plugin_folder_validates(folder):
    report = validate_plugin(folder)
    assert report.ok, str(report)
