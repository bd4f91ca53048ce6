"""The metaframe conformance kit on the audio modality: every check, each its own test id."""

from __future__ import annotations

from metaframe.testing import parametrize_with_checks


@parametrize_with_checks(["audio"])
def test_audio_conformance(modality, check) -> None:
    check(modality)
