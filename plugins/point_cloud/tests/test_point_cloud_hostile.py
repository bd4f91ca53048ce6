"""Hostile point-cloud files: each is a ReadError naming the file, before any large allocation."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

import metaframe
from metaframe_registry import ReadError


@pytest.fixture()
def pc():
    return metaframe.get_modality("point_cloud")


@pytest.mark.parametrize("fmt", ["binary_little_endian 1.0", "ascii 1.0"])
def test_ply_declaring_huge_vertex_count_is_refused_before_allocation(pc, tmp_path, fmt):
    path = tmp_path / "bomb.ply"
    header = f"ply\nformat {fmt}\nelement vertex 1000000000000\nproperty float x\nproperty float y\nproperty float z\nend_header\n"
    path.write_bytes(header.encode() + b"\x00" * 24)
    with pytest.raises(ReadError, match="declares 1000000000000 'vertex' elements") as info:
        pc.read(path, num_points=None)
    assert str(path) in str(info.value)


def test_ply_declaring_huge_face_count_is_refused(pc, tmp_path):
    path = tmp_path / "faces.ply"
    header = (
        "ply\nformat binary_little_endian 1.0\nelement vertex 1\nproperty float x\nproperty float y\nproperty float z\n"
        "element face 999999999999\nproperty list uchar int vertex_indices\nend_header\n"
    )
    path.write_bytes(header.encode() + np.zeros(3, "<f4").tobytes())
    with pytest.raises(ReadError, match="'face' elements"):
        pc.read(path, num_points=None)


@pytest.mark.parametrize("suffix", [".npz", ".npy"])
def test_truncated_archive_is_a_read_error(pc, tmp_path, suffix):
    buffer = io.BytesIO()
    np.savez(buffer, points=np.zeros((64, 3)))
    path = tmp_path / f"cut{suffix}"
    path.write_bytes(buffer.getvalue()[:40])
    with pytest.raises(ReadError, match="not a readable") as info:
        pc.read(path, num_points=None)
    assert str(path) in str(info.value)


def test_archive_with_corrupt_member_is_a_read_error(pc, tmp_path):
    path = tmp_path / "bad.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("points.npy", b"\x93NUMPY garbage")
    with pytest.raises(ReadError, match="not a readable"):
        pc.read(path, num_points=None)


@pytest.mark.parametrize("mode", ["binary", "ascii"])
def test_pcd_declaring_more_points_than_the_file_holds(pc, tmp_path, mode):
    path = tmp_path / "bomb.pcd"
    header = f"VERSION 0.7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nCOUNT 1 1 1\nWIDTH 1\nHEIGHT 1\nPOINTS 10000000000\nDATA {mode}\n"
    path.write_bytes(header.encode() + b"1 2 3\n")
    with pytest.raises(ReadError, match="10000000000 points|truncated"):
        pc.read(path, num_points=None)


def test_pcd_negative_point_count(pc, tmp_path):
    path = tmp_path / "neg.pcd"
    header = "VERSION 0.7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nCOUNT 1 1 1\nWIDTH 1\nHEIGHT 1\nPOINTS -1\nDATA binary\n"
    path.write_bytes(header.encode() + np.zeros(6, "<f4").tobytes())
    with pytest.raises(ReadError, match="-1 points"):
        pc.read(path, num_points=None)


def test_min_points_names_a_cloud_too_small_for_the_groups(pc, tmp_path):
    path = tmp_path / "small.xyz"
    np.savetxt(path, np.random.default_rng(0).normal(size=(5, 3)))
    assert pc.read(path, num_points=None).shape == (5, 3)
    with pytest.raises(ReadError, match="fewer than min_points=8") as info:
        pc.read(path, num_points=None, min_points=8)
    assert str(path) in str(info.value)
    assert pc.read(path, num_points=8, too_few="repeat", min_points=8).shape == (8, 3)


def test_npy_header_claiming_huge_shape_is_refused_before_allocation(pc, tmp_path):
    path = tmp_path / "bomb.npy"
    with path.open("wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": (10**12, 3)})
        f.write(b"\x00" * 64)
    with pytest.raises(ReadError, match="header declares 3000000000000") as info:
        pc.read(path, num_points=None)
    assert str(path) in str(info.value)


def test_off_faces_that_are_not_integers_or_missing(pc, tmp_path):
    bad = tmp_path / "bad.off"
    bad.write_text("OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 x\n")
    with pytest.raises(ReadError, match="not integers"):
        pc.read(bad, num_points=None, mesh_points=10)
    short = tmp_path / "short.off"
    short.write_text("OFF\n3 1000000000000 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n")
    with pytest.raises(ReadError, match="declares 1000000000000 faces"):
        pc.read(short, num_points=None, mesh_points=10)


def test_coordinates_beyond_float32_are_a_read_error(pc, tmp_path):
    path = tmp_path / "far.xyz"
    path.write_text("1e300 0 0\n1 1 1\n2 2 2\n")
    with pytest.raises(ReadError, match=r"far\.xyz: 1 coordinate\(s\) out of range.*column 'x' at step 0") as info:
        pc.read(path, num_points=None, normalize=False)
    assert "float32" in str(info.value)
