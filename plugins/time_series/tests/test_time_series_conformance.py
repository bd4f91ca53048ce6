"""The metaframe conformance kit on the time_series modality: every check, each its own test id."""

from __future__ import annotations

from metaframe.testing import parametrize_with_checks


@parametrize_with_checks(["time_series"])
def test_time_series_conformance(modality, check) -> None:
    check(modality)
