"""The fresh-interpreter probe shared by the kit and `metaframe validate` reports what it saw."""

from __future__ import annotations

from metaframe.testing.probe import probe_entry_point


def test_a_torch_free_entry_point_gives_its_manifest_and_no_heavy_modules():
    probe = probe_entry_point("metaframe_image:manifest", resolve_references=True)
    assert probe["error"] is None and probe["manifest"]["name"] == "image"
    assert "torch" not in probe["heavy"]
    assert probe["references"] and all(problem is None for problem in probe["references"].values())


def test_a_heavy_or_broken_entry_point_is_reported_not_raised():
    heavy = probe_entry_point("torch.nn:Identity")
    assert "torch" in heavy["heavy"] and "expected a ModalityManifest" in heavy["error"]
    missing = probe_entry_point("metaframe_no_such_package:manifest")
    assert missing["manifest"] is None and missing["error"].startswith("ModuleNotFoundError")
