"""The metaframe conformance kit on the xray modality: every check, each its own test id."""

from __future__ import annotations

from metaframe.testing import parametrize_with_checks


@parametrize_with_checks(["xray"])
def test_xray_conformance(modality, check) -> None:
    check(modality)
