"""The metaframe conformance kit on the text modality: every check, each its own test id."""

from __future__ import annotations

from metaframe.testing import parametrize_with_checks


@parametrize_with_checks(["text"])
def test_text_conformance(modality, check) -> None:
    check(modality)
