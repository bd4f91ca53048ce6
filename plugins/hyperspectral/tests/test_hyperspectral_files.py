"""Hyperspectral cube files through the registry: .mat, .npy / .npz, ENVI in every interleave; bad files."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io
import torch

import metaframe
from metaframe_hyperspectral.examples import write_envi
from metaframe_registry import ReadError

RNG = np.random.default_rng(7)
CUBE = RNG.integers(0, 9000, size=(6, 5, 4)).astype(np.int16)  # [H, W, bands], distinct along every axis
AS_TENSOR = torch.from_numpy(CUBE.astype(np.float32)).permute(2, 0, 1)  # what the reader returns


@pytest.fixture(scope="module")
def hsi():
    return metaframe.get_modality("hyperspectral")


def test_mat_single_cube_found_or_named(hsi, tmp_path):
    scipy.io.savemat(tmp_path / "ip.mat", {"indian_pines_corrected": CUBE})
    assert torch.equal(hsi.read(tmp_path / "ip.mat"), AS_TENSOR)
    scipy.io.savemat(tmp_path / "two.mat", {"raw": CUBE, "corrected": CUBE[:, :, :3], "gt": CUBE[:, :, 0]})
    with pytest.raises(ReadError, match=r"two\.mat: several 3-D arrays .*corrected \(6, 5, 3\).*variable="):
        hsi.read(tmp_path / "two.mat")
    assert hsi.read(tmp_path / "two.mat", variable="corrected").shape == (3, 6, 5)
    with pytest.raises(ReadError, match=r"two\.mat: has no numeric array 'paviaU'"):
        hsi.read(tmp_path / "two.mat", variable="paviaU")


def test_npy_and_npz(hsi, tmp_path):
    np.save(tmp_path / "c.npy", CUBE)
    np.savez(tmp_path / "c.npz", cube=CUBE, labels=CUBE[:, :, 0])
    assert torch.equal(hsi.read(tmp_path / "c.npy"), AS_TENSOR)
    assert torch.equal(hsi.read(tmp_path / "c.npz"), AS_TENSOR)
    np.save(tmp_path / "flat.npy", CUBE[:, :, 0])
    with pytest.raises(ReadError, match=r"flat\.npy: holds a int16 array of shape \(6, 5\), expected a numeric cube"):
        hsi.read(tmp_path / "flat.npy")


@pytest.mark.parametrize("interleave", ["bsq", "bil", "bip"])
@pytest.mark.parametrize("dtype", [np.int16, np.float32])
def test_envi_every_interleave(hsi, tmp_path, interleave, dtype):
    header = write_envi(tmp_path / "scene.hdr", CUBE.astype(dtype), interleave)
    assert torch.equal(hsi.read(header), AS_TENSOR)
    assert torch.equal(hsi.read(tmp_path / "scene.img"), AS_TENSOR)  # the data file named instead


def test_envi_big_endian_with_header_offset(hsi, tmp_path):
    header = write_envi(tmp_path / "be.hdr", CUBE.astype(np.uint16), "bil", offset=64, byte_order=1)
    assert torch.equal(hsi.read(header), AS_TENSOR)


def test_envi_damaged_pairs_name_the_file(hsi, tmp_path):
    header = write_envi(tmp_path / "s.hdr", CUBE, "bip")
    data = tmp_path / "s.img"
    data.write_bytes(data.read_bytes()[:-10])
    with pytest.raises(ReadError, match=r"s\.img: truncated ENVI data: header says 6 lines x 5 samples x 4 bands"):
        hsi.read(header)
    data.unlink()
    with pytest.raises(ReadError, match=r"s\.hdr: ENVI data file not found"):
        hsi.read(header)
    (tmp_path / "bad.hdr").write_text("samples = 3\n")
    (tmp_path / "bad.img").write_bytes(b"\0" * 8)
    with pytest.raises(ReadError, match=r"bad\.hdr: invalid ENVI header"):
        hsi.read(tmp_path / "bad.hdr")
    (tmp_path / "lonely.raw").write_bytes(b"\0" * 8)
    with pytest.raises(ReadError, match=r"lonely\.raw: no ENVI header found"):
        hsi.read(tmp_path / "lonely.raw")


def test_corrupt_truncated_empty_files(hsi, tmp_path):
    np.save(tmp_path / "good.npy", CUBE)
    (tmp_path / "cut.npy").write_bytes((tmp_path / "good.npy").read_bytes()[:100])
    scipy.io.savemat(tmp_path / "good.mat", {"cube": CUBE})
    (tmp_path / "cut.mat").write_bytes((tmp_path / "good.mat").read_bytes()[:200])
    (tmp_path / "empty.mat").write_bytes(b"")
    (tmp_path / "junk.npz").write_bytes(b"not a zip archive" * 4)
    v73 = bytearray(b"MATLAB 7.3 MAT-file".ljust(116) + b"\0" * 8 + b"\x00\x02IM")
    (tmp_path / "v73.mat").write_bytes(bytes(v73) + b"\0" * 512)
    for name, problem in {
        "cut.npy": "not a valid .npy file",
        "cut.mat": "truncated or corrupt MATLAB file",
        "empty.mat": "file is empty",
        "junk.npz": "truncated or corrupt .npz",
        "v73.mat": "MATLAB v7.3",
    }.items():
        with pytest.raises(ReadError, match=rf"{name.replace('.', '[.]')}: {problem}"):
            hsi.read(tmp_path / name)


def test_wrong_band_count_and_nan_refused(hsi, tmp_path):
    np.save(tmp_path / "c.npy", CUBE)
    with pytest.raises(ReadError, match=r"c\.npy: has 4 bands, expected 200"):
        hsi.read(tmp_path / "c.npy", bands=200)
    with_nan = CUBE.astype(np.float32)
    with_nan[1, 2, 3] = np.nan
    np.save(tmp_path / "nan.npy", with_nan)
    with pytest.raises(ReadError, match=r"nan\.npy: cube holds 1 NaN"):
        hsi.read(tmp_path / "nan.npy")


def test_mixed_sizes_resized_or_refused(hsi, tmp_path):
    np.save(tmp_path / "a.npy", CUBE)
    np.save(tmp_path / "b.npy", CUBE[:4])
    with pytest.raises(ValueError, match="different shapes"):
        hsi.load([tmp_path / "a.npy", tmp_path / "b.npy"])
    assert hsi.load([tmp_path / "a.npy", tmp_path / "b.npy"], size=8).shape == (2, 4, 8, 8)


def test_npy_header_claiming_a_huge_cube_is_refused_before_allocating(hsi, tmp_path):
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f4", "fortran_order": False, "shape": (100_000, 100_000, 200)})
    (tmp_path / "bomb.npy").write_bytes(buf.getvalue() + b"\0" * 64)
    with pytest.raises(ReadError, match=r"bomb\.npy: header declares 2000000000000 float32 values"):
        hsi.read(tmp_path / "bomb.npy")
