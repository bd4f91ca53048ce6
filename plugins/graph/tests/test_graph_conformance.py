"""The metaframe conformance kit on the graph modality: every check, each its own test id."""

from __future__ import annotations

from metaframe.testing import parametrize_with_checks


@parametrize_with_checks(["graph"])
def test_graph_conformance(modality, check) -> None:
    check(modality)
