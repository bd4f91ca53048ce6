"""X-ray DICOM reading through the registry: rescale, MONOCHROME1, compressed syntaxes, bad files."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
import torch
from pydicom.encaps import encapsulate
from pydicom.uid import JPEGLSLossless, RLELossless

import metaframe
from metaframe_registry import ReadError
from metaframe_xray.examples import write_dicom

RAW = {"size": None, "normalize": "none"}
STORED = (np.arange(20, dtype=np.uint16).reshape(4, 5) * 200)  # 12-bit values 0..3800


@pytest.fixture(scope="module")
def xray():
    return metaframe.get_modality("xray")


def test_rescale_slope_and_intercept_applied(xray, tmp_path):
    path = write_dicom(tmp_path / "ct.dcm", STORED, slope=2.0, intercept=-1024.0)
    image = xray.read(path, **RAW)
    assert image.shape == (1, 4, 5)
    assert torch.allclose(image[0], torch.from_numpy(STORED.astype(np.float32) * 2 - 1024))


def test_monochrome1_is_inverted_within_its_range(xray, tmp_path):
    mono1 = xray.read(write_dicom(tmp_path / "m1.dcm", STORED, "MONOCHROME1", 2.0, -1024.0), **RAW)
    mono2 = xray.read(write_dicom(tmp_path / "m2.dcm", 4095 - STORED, "MONOCHROME2", 2.0, -1024.0), **RAW)
    assert torch.allclose(mono1, mono2)
    assert mono1[0, 0, 0] == 4095 * 2 - 1024  # stored 0 is white in MONOCHROME1: the top of the range


def test_dicom_without_suffix_and_in_memory_dataset(xray, tmp_path):
    path = write_dicom(tmp_path / "IM0001", STORED)
    from_file = xray.read(path, **RAW)
    assert torch.allclose(from_file[0], torch.from_numpy(STORED.astype(np.float32)))
    assert torch.allclose(xray.read(pydicom.dcmread(path), **RAW), from_file)


def test_rle_compressed_dicom_is_decoded(xray, tmp_path):
    path = write_dicom(tmp_path / "plain.dcm", STORED, slope=1.0, intercept=0.0)
    ds = pydicom.dcmread(path)
    ds.compress(RLELossless, STORED)
    ds.save_as(tmp_path / "rle.dcm", enforce_file_format=True)
    assert torch.allclose(xray.read(tmp_path / "rle.dcm", **RAW), xray.read(path, **RAW))


def test_undecodable_compressed_syntax_is_refused_by_name(xray, tmp_path):
    ds = pydicom.dcmread(write_dicom(tmp_path / "plain.dcm", STORED))
    ds.file_meta.TransferSyntaxUID = JPEGLSLossless
    ds.PixelData = encapsulate([b"\xff\xd8\xff\xf7 not decodable here \xff\xd9"])
    ds["PixelData"].VR = "OB"
    ds.save_as(tmp_path / "jls.dcm", enforce_file_format=True)
    with pytest.raises(ReadError, match=r"jls\.dcm: pixel data is compressed with JPEG-LS Lossless .*cannot be decoded"):
        xray.read(tmp_path / "jls.dcm")


def test_damaged_dicom_files_name_the_file_and_problem(xray, tmp_path):
    good = write_dicom(tmp_path / "good.dcm", STORED).read_bytes()
    (tmp_path / "empty.dcm").write_bytes(b"")
    (tmp_path / "cut_pixels.dcm").write_bytes(good[:-15])
    (tmp_path / "cut_header.dcm").write_bytes(good[:200])
    (tmp_path / "junk.dcm").write_bytes(b"not dicom " * 30)
    expected = {
        "empty.dcm": "file is empty",
        "cut_pixels.dcm": "corrupt or truncated DICOM pixel data",
        "cut_header.dcm": "DICOM file holds no pixel data",
        "junk.dcm": "not a DICOM file",
    }
    for name, problem in expected.items():
        with pytest.raises(ReadError, match=rf"{name.replace('.', '[.]')}: {problem}"):
            xray.read(tmp_path / name)


def test_dicom_and_png_resized_into_one_batch(xray, tmp_path):
    from PIL import Image

    Image.fromarray((np.arange(30 * 20) % 65536).astype(np.uint16).reshape(30, 20)).save(tmp_path / "x.png")
    path = write_dicom(tmp_path / "x.dcm", np.tile(STORED, (3, 3)))
    batch = xray.load([path, tmp_path / "x.png"], size=16)
    assert batch.shape == (2, 1, 16, 16)
    assert torch.allclose(batch.mean((1, 2, 3)), torch.zeros(2), atol=1e-4)  # per-image normalised
    with pytest.raises(ValueError, match="different shapes"):
        xray.load([path, tmp_path / "x.png"], size=None)


def test_dicom_header_claiming_a_huge_image_is_refused_before_decoding(xray, tmp_path):
    ds = pydicom.dcmread(write_dicom(tmp_path / "plain.dcm", STORED))
    ds.compress(RLELossless, STORED)
    ds.Rows, ds.Columns = 60000, 60000  # RLE decodes to what the header says: 7.2 GB of uint16
    ds.save_as(tmp_path / "bomb.dcm", enforce_file_format=True)
    with pytest.raises(ReadError, match=r"bomb\.dcm: header declares 60000 x 60000 = 3600000000 pixels"):
        xray.read(tmp_path / "bomb.dcm")


def test_nan_pixels_in_memory_and_float_tiffs_are_refused(xray, tmp_path):
    tifffile = pytest.importorskip("tifffile")
    image = np.ones((8, 8), np.float32)
    image[2, 3] = np.nan
    tifffile.imwrite(tmp_path / "nan.tif", image)
    with pytest.raises(ReadError, match=r"nan\.tif: image holds NaN"):
        xray.read(tmp_path / "nan.tif")
    with pytest.raises(ReadError, match="1 NaN"):
        xray.read(torch.from_numpy(image)[None])
