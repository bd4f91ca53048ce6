"""The metaframe conformance kit on the image modality: every check, each its own test id."""

from __future__ import annotations

from metaframe.testing import parametrize_with_checks


@parametrize_with_checks(["image"])
def test_image_conformance(modality, check) -> None:
    check(modality)
