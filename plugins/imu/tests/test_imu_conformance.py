"""The metaframe conformance kit on the imu modality: every check, each its own test id."""

from __future__ import annotations

from metaframe.testing import parametrize_with_checks


@parametrize_with_checks(["imu"])
def test_imu_conformance(modality, check) -> None:
    check(modality)
