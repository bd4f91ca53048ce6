"""The metaframe conformance kit on the infrared modality: every check, each its own test id."""

from __future__ import annotations

from metaframe.testing import parametrize_with_checks


@parametrize_with_checks(["infrared"])
def test_infrared_conformance(modality, check) -> None:
    check(modality)
