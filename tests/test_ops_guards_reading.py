"""metaframe.ops.guards: the checks readers run before trusting a file's text, counts and values."""

from __future__ import annotations

import numpy as np
import pytest

from metaframe.ops import check_declared_size, check_limit, finite_or_raise, read_text
from metaframe_registry import ReadError


def test_read_text_decodes_utf8_and_names_a_binary_file(tmp_path):
    good = tmp_path / "a.txt"
    good.write_bytes("\ufeffcafé 1 2\n".encode("utf-8"))
    assert read_text(good) == "café 1 2\n"
    bad = tmp_path / "b.edgelist"
    bad.write_bytes(b"1 2\n\xff\xfe\x00")
    with pytest.raises(ReadError, match=r"b\.edgelist: not UTF-8 text, expected an edge list \(byte 4"):
        read_text(bad, "an edge list")


def test_check_declared_size_refuses_counts_the_file_cannot_hold():
    check_declared_size(10, 12, 120, "f.ply", "vertices")
    with pytest.raises(ReadError, match=r"f\.ply: header declares 11 vertices \(at least 132 bytes\), but the file holds 120"):
        check_declared_size(11, 12, 120, "f.ply", "vertices")
    with pytest.raises(ReadError, match="-1 points"):
        check_declared_size(-1, 12, 120, "f.pcd", "points")
    with pytest.raises(ReadError, match="10000000000000"):
        check_declared_size(10**13, 1, 10**6, "f.bin")


def test_check_limit_names_the_option():
    check_limit(5, 5, "g.json", "nodes", "max_nodes")
    check_limit(10**12, None, "g.json", "nodes", "max_nodes")
    with pytest.raises(ReadError, match=r"g\.json: has 6 nodes, more than the limit max_nodes=5 \(raise max_nodes"):
        check_limit(6, 5, "g.json", "nodes", "max_nodes")


def test_finite_or_raise_counts_and_locates_non_finite_values():
    values = np.array([[1.0, 2.0], [np.nan, np.inf], [3.0, -np.inf]])
    with pytest.raises(ReadError, match=r"x\.npy: coordinates: 1 NaN and 2 infinite value\(s\), first at index \(1, 0\)"):
        finite_or_raise(values, "x.npy", "coordinates")
    ok = np.arange(4.0)
    assert finite_or_raise(ok, "x.npy") is ok
    assert finite_or_raise(np.arange(3), "x.npy").dtype.kind == "i"
