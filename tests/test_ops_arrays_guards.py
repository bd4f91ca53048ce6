"""Hostile numeric input: .npy headers that lie, values past what float32 scaling can carry."""

from __future__ import annotations

import io

import numpy as np
import pytest

from metaframe.ops import FLOAT32_MAX, SQUARE_SAFE, load_npy, within_or_raise
from metaframe_registry import ReadError


def _npy_claiming(shape: tuple[int, ...], payload: bytes = b"\0" * 64) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return buf.getvalue() + payload


def test_npy_header_claiming_more_than_the_file_holds_is_refused_before_allocating(tmp_path):
    bomb = tmp_path / "bomb.npy"
    bomb.write_bytes(_npy_claiming((10**12, 3)))
    with pytest.raises(ReadError, match=r"header declares 3000000000000 float64 values") as info:
        load_npy(bomb)
    assert str(info.value).startswith(f"{bomb}: ")


def test_truncated_and_junk_npy_files_are_named(tmp_path):
    good = tmp_path / "good.npy"
    np.save(good, np.arange(15.0).reshape(5, 3))
    cut = tmp_path / "cut.npy"
    cut.write_bytes(good.read_bytes()[:-8])
    with pytest.raises(ReadError, match="truncated"):
        load_npy(cut)
    junk = tmp_path / "junk.npy"
    junk.write_bytes(b"\x93NUMPY\x01\x00" + b"\xff" * 40)
    with pytest.raises(ReadError, match="not a valid .npy"):
        load_npy(junk)
    assert load_npy(good).shape == (5, 3)


def test_within_or_raise_names_column_and_step():
    values = np.ones((4, 2))
    values[2, 1] = 3e38
    with pytest.raises(ReadError, match=r"3e\+38 in column 'b' at step 2, exceeds 1.84e\+19") as info:
        within_or_raise(values, "s.csv", SQUARE_SAFE, names=["a", "b"], why="squared by RevIN")
    assert "squared by RevIN" in str(info.value)
    values[2, 1] = -np.inf
    with pytest.raises(ReadError, match="in column 'b' at step 2, is an infinite value"):
        within_or_raise(values, "s.csv", FLOAT32_MAX, names=["a", "b"])


def test_within_or_raise_leaves_nan_and_fitting_values_alone():
    values = np.array([[1.0, np.nan], [-1e19, 2.0]])
    assert within_or_raise(values, "s", SQUARE_SAFE) is not None
    assert within_or_raise(np.arange(4), "s", 10).shape == (4,)


def test_zip_bytes_named_npy_are_a_read_error_naming_the_file(tmp_path):
    path = tmp_path / "broken.npy"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)  # looks like an archive, is none
    with pytest.raises(ReadError, match="broken.npy: not a valid .npy file"):
        load_npy(path)
