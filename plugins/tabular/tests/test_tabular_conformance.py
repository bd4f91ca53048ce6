"""The metaframe conformance kit on the tabular modality: every check, each its own test id."""

from __future__ import annotations

from metaframe.testing import parametrize_with_checks


@parametrize_with_checks(["tabular"])
def test_tabular_conformance(modality, check) -> None:
    check(modality)
