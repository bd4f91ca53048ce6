"""The metaframe conformance kit on the video modality: every check, each its own test id."""

from __future__ import annotations

from metaframe.testing import parametrize_with_checks


@parametrize_with_checks(["video"])
def test_video_conformance(modality, check) -> None:
    check(modality)
