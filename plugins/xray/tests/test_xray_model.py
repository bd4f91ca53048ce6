"""X-ray through the registry into the frozen encoder; 16-bit PNG / TIFF; CLI listing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
from PIL import Image
from safetensors.torch import save_file

import metaframe
from metaframe.nn import PatchEmbed2d
from metaframe_registry import ReadError

D = 32


@pytest.fixture(scope="module")
def xray():
    return metaframe.get_modality("xray")


def test_examples_train_tokenizer_through_frozen_encoder(xray, tmp_path):
    opts = xray.manifest.example_reader_options
    batch = xray.collate([xray.read(s, **opts) for s in xray.examples(tmp_path)])
    encoder = metaframe.FrozenEncoder(embed_dim=D, depth=2, num_heads=2)
    tokenizer = xray.build_tokenizer(embed_dim=D, **xray.manifest.example_tokenizer_options)
    head = metaframe.build_head("classification", embed_dim=D, num_classes=2)
    model = metaframe.MetaModel(encoder, tokenizers={"xray": tokenizer}, heads={"finding": head})
    loss = torch.nn.functional.cross_entropy(model({"xray": batch})["finding"], torch.tensor([0, 1]))
    loss.backward()
    assert tokenizer.proj.weight.grad is not None and tokenizer.proj.weight.grad.abs().sum() > 0
    assert tokenizer.pos_embed.grad is not None
    assert all(p.grad is None for p in encoder.parameters())


def test_init_from_image_tokenizer(xray, tmp_path):
    # a trained image tokenizer is the core's 3-channel patch embedding (no other plugin needed)
    image_tok = PatchEmbed2d(D, in_channels=3, patch_size=8, image_size=32)
    save_file(image_tok.state_dict(), tmp_path / "rgb.safetensors")
    tok = xray.build_tokenizer(embed_dim=D, patch_size=8, image_size=32, init_from=str(tmp_path / "rgb.safetensors"))
    gray = torch.rand(1, 1, 32, 32)
    assert torch.allclose(tok(gray).tokens, image_tok(gray.repeat(1, 3, 1, 1)).tokens, atol=1e-5)
    model = metaframe.MetaModel(metaframe.FrozenEncoder(embed_dim=D, depth=1, num_heads=2), tokenizers={"image": image_tok})
    save_file(model.trainable_state_dict(), tmp_path / "model.safetensors")
    found = xray.build_tokenizer(embed_dim=D, patch_size=8, image_size=32, init_from=str(tmp_path / "model.safetensors"))
    assert torch.allclose(found.proj.weight, image_tok.proj.weight.sum(1, keepdim=True))
    with pytest.raises(KeyError, match=r"init_prefix='image\.'"):
        xray.build_tokenizer(embed_dim=D, patch_size=8, image_size=32, init_from=str(tmp_path / "model.safetensors"), init_prefix="image.")
    with pytest.raises(ValueError, match="projection is 32 wide, this tokenizer is 16"):
        xray.build_tokenizer(embed_dim=16, patch_size=8, image_size=32, init_from=str(tmp_path / "rgb.safetensors"))


def test_dataset_statistics_are_fitted_and_normalise_the_tokens(xray):
    torch.manual_seed(0)
    films = [torch.rand(1, 32, 32) * 3000 - 1000 for _ in range(3)]  # modality units (e.g. HU)
    tok = xray.build_tokenizer(embed_dim=D, patch_size=8, image_size=32, normalize="dataset")
    with pytest.raises(RuntimeError, match="not fitted"):
        tok(torch.stack(films))
    tok.fit(films)
    pixels = torch.stack(films).double()
    assert tok.fitted_state()["mean"][0] == pytest.approx(pixels.mean().item(), rel=1e-5)
    twin = xray.build_tokenizer(embed_dim=D, patch_size=8, image_size=32)
    twin.load_state_dict(tok.state_dict())
    x = torch.stack(films[:2])
    expected = twin((x - pixels.mean().float()) / pixels.std(unbiased=False).float()).tokens
    assert torch.allclose(tok(x).tokens, expected, atol=1e-4)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16bit_png_and_tiff_not_truncated(xray, tmp_path, suffix):
    values = (np.arange(36, dtype=np.uint16) + 40000).reshape(6, 6)
    path = tmp_path / f"r{suffix}"
    (tifffile.imwrite(path, values) if suffix == ".tif" else Image.fromarray(values).save(path))
    image = xray.read(path, size=None, normalize="none")
    assert torch.equal((image[0] * 65535).round().long(), torch.from_numpy(values.astype(np.int64)))


def test_8bit_png_and_bad_channel_count(xray, tmp_path):
    Image.fromarray(np.full((5, 5), 51, np.uint8)).save(tmp_path / "g.png")
    assert torch.allclose(xray.read(tmp_path / "g.png", size=None, normalize="none"), torch.full((1, 5, 5), 0.2))
    tifffile.imwrite(tmp_path / "six.tif", np.zeros((4, 4, 6), np.uint8), photometric="minisblack", planarconfig="contig")
    with pytest.raises(ReadError, match=r"six\.tif: has 6 channels"):
        xray.read(tmp_path / "six.tif")


def test_listed_by_cli():
    env = {k: v for k, v in os.environ.items() if k != "METAFRAME_LOAD_PLUGINS"}
    cli = Path(sys.executable).parent / "metaframe"
    out = subprocess.run([str(cli), "list-modalities", "--format", "json"], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    row = {r["name"]: r for r in json.loads(out.stdout)}["xray"]
    assert row["status"] == "ok" and ".dcm" in row["extensions"]
