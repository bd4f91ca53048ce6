"""The infrared reader through the registry: bit depths, formats, normalisation, bad files."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
import torch
from PIL import Image

import metaframe
from metaframe_registry import ReadError


@pytest.fixture(scope="module")
def infrared():
    return metaframe.get_modality("infrared")


RAW = {"size": None, "normalize": "none"}


def test_8bit_png_scaled_by_255(infrared, tmp_path):
    pixels = np.arange(48, dtype=np.uint8).reshape(6, 8) * 5
    Image.fromarray(pixels).save(tmp_path / "a.png")
    image = infrared.read(tmp_path / "a.png", **RAW)
    assert image.shape == (1, 6, 8) and image.dtype == torch.float32
    assert torch.allclose(image[0], torch.from_numpy(pixels.astype(np.float32) / 255))


@pytest.mark.parametrize("writer", ["png", "tiff_pillow", "tiff_tifffile"])
def test_16bit_keeps_full_dynamic_range(infrared, tmp_path, writer):
    # adjacent raw counts that 8-bit truncation would merge
    counts = (7000 + np.arange(64)).astype(np.uint16).reshape(8, 8)
    path = tmp_path / ("t.png" if writer == "png" else "t.tif")
    if writer == "tiff_tifffile":
        tifffile.imwrite(path, counts)
    else:
        Image.fromarray(counts).save(path)
    image = infrared.read(path, **RAW)[0]
    restored = (image * 65535).round().to(torch.int64)
    assert torch.equal(restored, torch.from_numpy(counts.astype(np.int64)))
    assert len(torch.unique(image)) == 64


def test_float_tiff_kept_in_its_units(infrared, tmp_path):
    celsius = np.linspace(20.0, 40.0, 30, dtype=np.float32).reshape(5, 6)
    tifffile.imwrite(tmp_path / "c.tiff", celsius)
    image = infrared.read(tmp_path / "c.tiff", **RAW)
    assert torch.allclose(image[0], torch.from_numpy(celsius))


def test_planar_16bit_rgb_tiff_becomes_luminance(infrared, tmp_path):
    rgb = np.zeros((3, 4, 5), dtype=np.uint16)
    rgb[0] = 65535  # pure red, stored planar (samples first)
    tifffile.imwrite(tmp_path / "p.tif", rgb, photometric="rgb", planarconfig="separate")
    image = infrared.read(tmp_path / "p.tif", **RAW)
    assert image.shape == (1, 4, 5)
    assert torch.allclose(image, torch.full((1, 4, 5), 0.299), atol=1e-5)


def test_resize_and_per_image_normalisation(infrared, tmp_path):
    Image.fromarray(np.random.default_rng(0).integers(0, 65535, (40, 24)).astype(np.uint16)).save(tmp_path / "r.png")
    image = infrared.read(tmp_path / "r.png", size=16)  # manifest default normalize: per_image
    assert image.shape == (1, 16, 16)
    assert abs(image.mean().item()) < 1e-4 and abs(image.std().item() - 1) < 1e-3


def test_dataset_statistics_in_reader(infrared):
    array = np.full((4, 4), 0.5, dtype=np.float32)
    image = infrared.read(array, size=None, normalize={"mean": [0.25], "std": [0.5]})
    assert torch.allclose(image, torch.full((1, 4, 4), 0.5))


def test_mixed_sizes_resized_or_refused(infrared, tmp_path):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    Image.fromarray(np.zeros((10, 12), np.uint8)).save(a)
    Image.fromarray(np.zeros((16, 8), np.uint8)).save(b)
    assert infrared.load([a, b], size=8).shape == (2, 1, 8, 8)
    with pytest.raises(ValueError, match="different shapes"):
        infrared.load([a, b], size=None)


def test_bad_files_name_the_file(infrared, tmp_path):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ReadError, match=r"empty\.png: file is empty"):
        infrared.read(empty)
    good = tmp_path / "good.png"
    Image.fromarray(np.zeros((64, 64), np.uint16) + 300).save(good)
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(good.read_bytes()[:60])
    with pytest.raises(ReadError, match=r"cut\.png: truncated or corrupt"):
        infrared.read(truncated)
    tif = tmp_path / "good.tif"
    tifffile.imwrite(tif, np.arange(64 * 64, dtype=np.uint16).reshape(64, 64))
    cut_tif = tmp_path / "cut.tif"
    cut_tif.write_bytes(tif.read_bytes()[:100])
    with pytest.raises(ReadError, match=r"cut\.tif: truncated or corrupt TIFF"):
        infrared.read(cut_tif)
    junk = tmp_path / "junk.tif"
    junk.write_bytes(b"this is not a tiff at all")
    with pytest.raises(ReadError, match=r"junk\.tif"):
        infrared.read(junk)


def test_wrong_channel_count_is_refused(infrared, tmp_path):
    tifffile.imwrite(tmp_path / "five.tif", np.zeros((6, 6, 5), np.uint16), photometric="minisblack", planarconfig="contig")
    with pytest.raises(ReadError, match=r"five\.tif: has 5 channels, expected 1"):
        infrared.read(tmp_path / "five.tif")


def test_bomb_headers_and_non_finite_thermal_data_are_refused(infrared, tmp_path):
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    bomb = tmp_path / "bomb.png"  # a header claiming 100000 x 100000 16-bit gray pixels
    bomb.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 16, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))
    with pytest.raises(ReadError, match=r"bomb\.png: header declares"):
        infrared.read(bomb)
    kelvin = np.full((8, 8), 300.0, np.float32)
    kelvin[1, 1] = np.inf
    tifffile.imwrite(tmp_path / "inf.tif", kelvin)
    with pytest.raises(ReadError, match=r"inf\.tif: image holds NaN or infinite"):
        infrared.read(tmp_path / "inf.tif")
    with pytest.raises(ReadError, match="1 infinite"):
        infrared.read(kelvin)
