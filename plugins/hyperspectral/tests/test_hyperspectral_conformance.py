"""The metaframe conformance kit on the hyperspectral modality: every check, each its own test id."""

from __future__ import annotations

from metaframe.testing import parametrize_with_checks


@parametrize_with_checks(["hyperspectral"])
def test_hyperspectral_conformance(modality, check) -> None:
    check(modality)
