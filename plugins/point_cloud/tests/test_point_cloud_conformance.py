"""The metaframe conformance kit on the point_cloud modality: every check, each its own test id."""

from __future__ import annotations

from metaframe.testing import parametrize_with_checks


@parametrize_with_checks(["point_cloud"])
def test_point_cloud_conformance(modality, check) -> None:
    check(modality)
