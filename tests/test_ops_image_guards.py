"""Hostile images: header bombs, NaN / Inf pixels, undecodable bytes → a ReadError naming the file."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
import torch

from metaframe.ops import MAX_IMAGE_PIXELS, load_image_array, load_pillow_array, prepare_image, to_chw_tensor
from metaframe_registry import ReadError


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims width x height RGB pixels, with almost no pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def _tiff_header(width: int, height: int) -> bytes:
    """A little-endian baseline TIFF claiming width x height 8-bit gray pixels, holding 16 bytes."""
    entries = [(256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 1), (262, 3, 1),
               (273, 4, 8), (277, 3, 1), (278, 4, height), (279, 4, 16)]
    body = b"".join(
        struct.pack("<HHII", tag, kind, 1, value) if kind == 4 else struct.pack("<HHIHH", tag, kind, 1, value, 0)
        for tag, kind, value in entries
    )
    return b"II*\0" + struct.pack("<I", 24) + b"\0" * 16 + struct.pack("<H", len(entries)) + body + b"\0\0\0\0"


@pytest.mark.parametrize("tiff", ["tifffile", "pillow"])
@pytest.mark.parametrize("name,data", [("bomb.png", _png_header(100_000, 100_000)), ("bomb.tif", _tiff_header(100_000, 100_000))])
def test_header_bombs_are_refused_before_decoding(tmp_path, name, data, tiff):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ReadError) as info:
        load_image_array(path, tiff=tiff)
    assert str(info.value).startswith(f"{path}: "), info.value
    assert "pixels" in str(info.value) and "10000000000" in str(info.value)


def test_our_pixel_limit_applies_below_pillows_and_can_be_raised(tmp_path):
    side = int(MAX_IMAGE_PIXELS**0.5) + 1  # just over our limit, under Pillow's error threshold
    path = tmp_path / "big.png"
    path.write_bytes(_png_header(side, side))
    with pytest.raises(ReadError, match="limit of 89478485"):
        load_pillow_array(path)
    small = tmp_path / "small.png"
    small.write_bytes(_png_header(64, 64))
    with pytest.raises(ReadError, match="more than the limit of 100"):
        load_pillow_array(small, max_pixels=100)
    with pytest.raises(ReadError, match="truncated or corrupt"):  # no limit: decoded, and the data is short
        load_pillow_array(small, max_pixels=None)


def test_tiff_header_within_the_limit_still_decodes(tmp_path):
    path = tmp_path / "tiny.tif"
    path.write_bytes(_tiff_header(4, 4))
    assert load_image_array(path).shape == (4, 4, 1)


@pytest.mark.parametrize("tiff", ["tifffile", "pillow"])
def test_nan_and_inf_in_float_tiffs_are_named(tmp_path, tiff):
    tifffile = pytest.importorskip("tifffile")
    for bad in (np.nan, np.inf):
        image = np.ones((8, 8), np.float32)
        image[3, 4] = bad
        path = tmp_path / f"float_{tiff}_{bad}.tif"
        tifffile.imwrite(path, image)
        with pytest.raises(ReadError, match="NaN or infinite") as info:
            load_image_array(path, tiff=tiff)
        assert str(info.value).startswith(f"{path}: ")


@pytest.mark.parametrize("make", [
    lambda: np.where(np.eye(8, dtype=bool)[..., None], np.nan, 0.5).astype(np.float32),
    lambda: torch.full((3, 8, 8), 0.5).index_put_((torch.tensor([1]), torch.tensor([2]), torch.tensor([3])), torch.tensor(float("inf"))),
])
def test_nan_and_inf_arrays_and_tensors_are_refused_before_tokens(make):
    source = make()
    with pytest.raises(ReadError, match="NaN|infinite") as info:
        prepare_image(to_chw_tensor(source), source, size=4, normalize="imagenet", channels=3)
    assert "first at [C, H, W] index" in str(info.value)


def test_finite_images_pass_unchanged():
    image = torch.rand(3, 8, 8)
    assert torch.equal(prepare_image(image, "x", None, None, None), image)


@pytest.mark.parametrize("data", [b"", b"\x89PNG\r\n\x1a\n", np.random.default_rng(0).bytes(512), b"GIF89a" + b"\0" * 40])
def test_undecodable_bytes_are_read_errors(tmp_path, data):
    path = tmp_path / "x.png"
    path.write_bytes(data)
    with pytest.raises(ReadError) as info:
        load_image_array(path)
    assert str(info.value).startswith(f"{path}: ")
