"""The image plugin, reached as users reach it: through the registry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import metaframe
from metaframe_registry import ReadError

FORMATS = {"png": "PNG", "jpg": "JPEG", "bmp": "BMP", "tif": "TIFF", "webp": "WEBP"}


@pytest.fixture
def image() -> metaframe.Modality:
    return metaframe.get_modality("image")


def test_discovered_through_entry_point(image) -> None:
    assert image.manifest.distribution == "metaframe-image"
    assert "image" in metaframe.list_modalities()
    assert ".png" in image.manifest.extensions


@pytest.mark.parametrize("ext", sorted(FORMATS))
def test_reads_every_format(image, tmp_path: Path, ext: str) -> None:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(20, 30, 3), dtype=np.uint8)
    path = tmp_path / f"x.{ext}"
    Image.fromarray(pixels).save(path, FORMATS[ext], **({"lossless": True} if ext == "webp" else {}))
    raw = image.read(path, size=None, normalize="none")
    assert raw.shape == (3, 20, 30) and raw.dtype == torch.float32
    if ext != "jpg":  # lossless formats round-trip exactly
        assert torch.allclose(raw, torch.from_numpy(pixels).permute(2, 0, 1).float() / 255)
    assert image.read(path).shape == (3, 224, 224)


def test_sixteen_bit_keeps_dynamic_range(image, tmp_path: Path) -> None:
    values = np.array([[0, 1, 2, 65535], [300, 301, 302, 40000]], dtype=np.uint16)
    path = tmp_path / "thermal.png"
    Image.fromarray(values).save(path)
    raw = image.read(path, size=None, normalize="none", channels=None)
    assert raw.shape == (1, 2, 4)
    assert torch.allclose(raw[0] * 65535, torch.from_numpy(values.astype(np.float32)), atol=1e-2)
    assert raw[0, 0, 1] != raw[0, 0, 2]  # 1 and 2 stay distinct: no truncation to 8 bits


def test_channels_and_normalisation(image) -> None:
    gray = np.full((8, 8), 128, dtype=np.uint8)
    rgb = image.read(gray, size=None, normalize="none", channels=3)
    assert rgb.shape == (3, 8, 8) and torch.allclose(rgb[0], rgb[2])
    many = image.read(torch.rand(5, 8, 8), size=None, normalize="none", channels=None)
    assert many.shape == (5, 8, 8)
    clip = image.read(np.zeros((8, 8, 3), np.uint8), size=None, normalize="clip")
    assert torch.allclose(clip[:, 0, 0], torch.tensor([-0.48145466 / 0.26862954, -0.4578275 / 0.26130258, -0.40821073 / 0.27577711]))
    custom = image.read(np.ones((8, 8, 3), np.uint8) * 255, size=None, normalize={"mean": [0.5] * 3, "std": [0.5] * 3})
    assert torch.allclose(custom, torch.ones(3, 8, 8))
    assert image.read(np.zeros((10, 6, 3), np.uint8), size=(4, 2), normalize="none").shape == (3, 4, 2)


@pytest.mark.parametrize(
    "content, problem",
    [(b"", "file is empty"), (b"this is not an image at all", "not an image"), (None, "truncated or corrupt")],
)
def test_bad_files_name_the_file_and_the_problem(image, tmp_path: Path, content: bytes | None, problem: str) -> None:
    path = tmp_path / "bad.png"
    if content is None:
        Image.fromarray(np.zeros((64, 64, 3), np.uint8) + 7).save(path)
        path.write_bytes(path.read_bytes()[:60])
    else:
        path.write_bytes(content)
    with pytest.raises(ReadError) as info:
        image.read(path)
    assert str(path) in str(info.value) and problem in str(info.value)
    with pytest.raises(ReadError, match="missing.png: file not found"):
        image.read(tmp_path / "missing.png")


def test_mixed_sizes_are_refused_clearly(image) -> None:
    a = image.read(torch.rand(3, 8, 8), size=None)
    b = image.read(torch.rand(3, 8, 16), size=None)
    with pytest.raises(ValueError, match="different shapes"):
        image.collate([a, b])


def test_tokenizer_positions_interpolate_and_channels_adapt() -> None:
    tok = metaframe.build_tokenizer("image", embed_dim=16, image_size=32, patch_size=8)
    assert tok(torch.rand(2, 3, 32, 32)).tokens.shape == (2, 16, 16)
    assert tok(torch.rand(2, 3, 48, 64)).tokens.shape == (2, 48, 16)  # 6x8 grid, positions resized
    one = metaframe.build_tokenizer("image", embed_dim=16, in_channels=1, image_size=32, patch_size=8)
    one.load_projection_from(tok)
    gray = torch.rand(1, 1, 32, 32)
    # a gray image through the summed 1-channel projection equals the gray image replicated to RGB
    assert torch.allclose(one(gray).tokens, tok(gray.expand(-1, 3, -1, -1)).tokens, atol=1e-5)
    with pytest.raises(ValueError, match=r"expected images \[batch, 3, height, width\]"):
        tok(torch.rand(2, 1, 32, 32))


def test_gradient_reaches_tokenizer_through_frozen_encoder(image) -> None:
    encoder = metaframe.FrozenEncoder(embed_dim=32, depth=1, num_heads=2)
    tok = image.build_tokenizer(embed_dim=32, image_size=32, patch_size=8)
    model = metaframe.MetaModel(encoder, {"image": tok}, {"y": metaframe.build_head("classification", embed_dim=32, num_classes=2)})
    batch = image.collate([image.read(torch.rand(3, 40, 40), size=32) for _ in range(2)])
    model({"image": batch})["y"].sum().backward()
    assert tok.proj.weight.grad is not None and tok.pos_embed.grad is not None
    assert all(p.grad is None for p in encoder.parameters())


def test_nan_inputs_and_bomb_headers_are_read_errors(image, tmp_path):
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))
    with pytest.raises(ReadError, match=r"bomb\.png: header declares more pixels"):
        image.read(bomb)
    with pytest.raises(ReadError, match="NaN"):
        image.read(torch.full((3, 8, 8), float("nan")))
    array = np.zeros((8, 8, 3), np.float32)
    array[0, 0, 0] = np.inf
    with pytest.raises(ReadError, match="1 infinite"):
        image.read(array)
