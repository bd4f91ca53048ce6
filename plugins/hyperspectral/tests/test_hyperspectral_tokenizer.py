"""Neighbourhood sampling, per-band normalisation and the tokenizer, through the registry."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.io
import torch
from safetensors.torch import load_file, save_file

import metaframe
from metaframe_registry import ReadError

D = 32
BANDS = 10
RNG = np.random.default_rng(3)
CUBE = RNG.normal(500.0, 80.0, size=(7, 6, BANDS)).astype(np.float32)  # [H, W, bands]
LABELS = np.zeros((7, 6), dtype=np.uint8)
LABELS[0, 0], LABELS[3, 2], LABELS[6, 5], LABELS[2, 4] = 1, 2, 3, 2


@pytest.fixture(scope="module")
def hsi():
    return metaframe.get_modality("hyperspectral")


@pytest.fixture
def indian_pines_like(tmp_path):
    """The Indian Pines layout: the cube and its ground truth in two .mat files."""
    scipy.io.savemat(tmp_path / "Indian_pines_corrected.mat", {"indian_pines_corrected": CUBE})
    scipy.io.savemat(tmp_path / "Indian_pines_gt.mat", {"indian_pines_gt": LABELS})
    return tmp_path / "Indian_pines_corrected.mat", tmp_path / "Indian_pines_gt.mat"


def test_neighbourhoods_of_labelled_pixels_reflect_padded(hsi, indian_pines_like):
    cube_path, gt_path = indian_pines_like
    data = hsi.dataset(cube_path, labels=gt_path, neighbourhood=3)
    assert len(data) == 4  # only labelled pixels; 0 = unlabelled
    assert [t for _, t in data] == [0, 1, 1, 2]  # row-major order, classes 1..C -> 0..C-1
    assert data.positions.tolist() == [[0, 0], [2, 4], [3, 2], [6, 5]]
    cube = torch.from_numpy(CUBE).permute(2, 0, 1)
    patch, _ = data[2]  # pixel (3, 2): an interior neighbourhood
    assert patch.shape == (BANDS, 3, 3) and torch.equal(patch, cube[:, 2:5, 1:4])
    corner, _ = data[0]  # pixel (0, 0): reflect padding mirrors row/column 1 outward
    assert torch.equal(corner[:, 1, 1], cube[:, 0, 0])
    assert torch.equal(corner[:, 0, 0], cube[:, 1, 1])
    assert torch.equal(corner[:, 0, 2], cube[:, 1, 1])
    assert torch.equal(data[-1][0][:, 2, 2], cube[:, 5, 4])  # bottom-right corner mirrored too


def test_labels_in_the_same_file_and_mismatches(hsi, tmp_path):
    np.savez(tmp_path / "scene.npz", cube=CUBE, gt=LABELS)
    assert len(hsi.dataset(tmp_path / "scene.npz", neighbourhood=5)) == 4
    np.save(tmp_path / "small_gt.npy", LABELS[:5])
    with pytest.raises(ReadError, match=r"small_gt\.npy: label map has shape \(5, 6\), the cube is 7x6"):
        hsi.dataset(tmp_path / "scene.npz", labels=tmp_path / "small_gt.npy")
    np.save(tmp_path / "cube.npy", CUBE)
    with pytest.raises(ReadError, match=r"cube\.npy: no label map given"):
        hsi.dataset(tmp_path / "cube.npy")
    with pytest.raises(ReadError, match="odd size"):
        hsi.dataset(tmp_path / "scene.npz", neighbourhood=4)


def test_fitted_band_tokens_train_through_frozen_encoder(hsi, indian_pines_like):
    cube_path, gt_path = indian_pines_like
    data = hsi.dataset(cube_path, labels=gt_path, neighbourhood=5)
    tokenizer = hsi.build_tokenizer(embed_dim=D, num_bands=BANDS, neighbourhood=5, band_group=3)
    with pytest.raises(RuntimeError, match="not fitted"):
        tokenizer(torch.stack([p for p, _ in data]))
    tokenizer.fit(data)
    encoder = metaframe.FrozenEncoder(embed_dim=D, depth=2, num_heads=2)
    head = metaframe.build_head("classification", embed_dim=D, num_classes=data.num_classes)
    model = metaframe.MetaModel(encoder, tokenizers={"hyperspectral": tokenizer}, heads={"land_cover": head})
    batch = hsi.collate([p for p, _ in data])
    encoded = model.encode({"hyperspectral": batch})
    assert encoded.tokens.shape == (4, 1 + 4, D)  # [CLS] + ceil(10 bands / 3) band-group tokens
    loss = torch.nn.functional.cross_entropy(model.heads["land_cover"](encoded), torch.tensor([t for _, t in data]))
    loss.backward()
    assert tokenizer.proj.weight.grad.abs().sum() > 0 and tokenizer.pos_embed.grad.abs().sum() > 0
    assert all(p.grad is None for p in encoder.parameters())


def test_each_token_sees_only_its_band_group(hsi):
    tokenizer = hsi.build_tokenizer(embed_dim=D, num_bands=BANDS, neighbourhood=3, band_group=3, normalize="none")
    x = torch.randn(2, BANDS, 3, 3)
    y = x.clone()
    y[:, 9] += 1.0  # band 9 is alone in the last (zero-padded) group
    a, b = tokenizer(x).tokens, tokenizer(y).tokens
    assert torch.equal(a[:, :3], b[:, :3]) and not torch.allclose(a[:, 3], b[:, 3])


@pytest.mark.parametrize("normalize", ["minmax", "standard"])
def test_per_band_statistics_fitted_saved_and_restored(hsi, tmp_path, normalize):
    cube = torch.from_numpy(CUBE).permute(2, 0, 1) * torch.linspace(1, 50, BANDS).view(-1, 1, 1)  # bands of very different ranges
    tokenizer = hsi.build_tokenizer(embed_dim=D, num_bands=BANDS, mode="spatial", patch_size=2, image_size=6, normalize=normalize)
    tokenizer.fit([cube])
    normalised = tokenizer.norm(cube[None])[0].flatten(1)
    if normalize == "minmax":
        assert torch.allclose(normalised.min(1).values, torch.zeros(BANDS), atol=1e-5)
        assert torch.allclose(normalised.max(1).values, torch.ones(BANDS), atol=1e-5)
    else:
        assert torch.allclose(normalised.mean(1), torch.zeros(BANDS), atol=1e-4)
        assert torch.allclose(normalised.std(1, unbiased=False), torch.ones(BANDS), atol=1e-4)
    state = json.loads(json.dumps(tokenizer.fitted_state()))
    save_file(tokenizer.state_dict(), tmp_path / "hsi.safetensors")
    fresh = hsi.build_tokenizer(embed_dim=D, num_bands=BANDS, mode="spatial", patch_size=2, image_size=6, normalize=normalize)
    fresh.load_fitted_state(state)
    assert torch.allclose(fresh.norm.scale, tokenizer.norm.scale)
    fresh.load_state_dict(load_file(tmp_path / "hsi.safetensors"))
    assert torch.allclose(fresh(cube[None, :, :6]).tokens, tokenizer(cube[None, :, :6]).tokens)
    with pytest.raises(ValueError, match="one per band"):
        fresh.load_fitted_state({**state, **{k: v[:3] for k, v in state.items() if isinstance(v, list)}})


def test_spatial_mode_patches_whole_cubes(hsi, tmp_path):
    np.save(tmp_path / "a.npy", np.abs(CUBE))
    np.save(tmp_path / "b.npy", np.abs(CUBE[:5, :4]))
    batch = hsi.load([tmp_path / "a.npy", tmp_path / "b.npy"], size=8)
    tokenizer = hsi.build_tokenizer(embed_dim=D, num_bands=BANDS, mode="spatial", patch_size=4, image_size=8)
    tokenizer.fit(batch)
    assert tokenizer(batch).tokens.shape == (2, 4, D)


def test_wrong_bands_and_wrong_neighbourhood_refused(hsi):
    tokenizer = hsi.build_tokenizer(embed_dim=D, num_bands=BANDS, neighbourhood=5, normalize="none")
    with pytest.raises(ValueError, match="expected 10 bands, got 12"):
        tokenizer(torch.zeros(1, 12, 5, 5))
    with pytest.raises(ValueError, match="band mode takes 5x5 pixel neighbourhoods .* got 7x7"):
        tokenizer(torch.zeros(1, BANDS, 7, 7))
    with pytest.raises(ValueError, match="fit: sample has 12 bands"):
        tokenizer.fit([torch.zeros(12, 5, 5)])


@pytest.mark.parametrize("normalize", ["minmax", "standard"])
def test_fit_in_small_chunks_matches_one_pass(hsi, monkeypatch, normalize):
    import metaframe_hyperspectral.band_norm as band_norm

    samples = [torch.randn(BANDS, 3, 3) * (i + 1) + i for i in range(7)]
    whole = hsi.build_tokenizer(embed_dim=D, num_bands=BANDS, neighbourhood=3, normalize=normalize)
    whole.fit([torch.cat(samples, dim=2)])  # all pixels as one cube
    monkeypatch.setattr(band_norm, "CHUNK_VALUES", BANDS * 9 * 2)  # flush every second sample
    chunked = hsi.build_tokenizer(embed_dim=D, num_bands=BANDS, neighbourhood=3, normalize=normalize)
    chunked.fit(samples)
    assert torch.allclose(chunked.norm.shift, whole.norm.shift, atol=1e-5)
    assert torch.allclose(chunked.norm.scale, whole.norm.scale, atol=1e-5)


def test_a_label_map_file_opened_outside_read_is_checked_too(hsi, tmp_path):
    # the dataset opens its label map itself, so the core's file pre-check runs there as well
    np.save(tmp_path / "cube.npy", CUBE)
    (tmp_path / "empty_gt.npy").write_bytes(b"")
    with pytest.raises(ReadError, match=r"empty_gt\.npy: file is empty"):
        hsi.dataset(tmp_path / "cube.npy", labels=tmp_path / "empty_gt.npy")
    (tmp_path / "gt_folder.npy").mkdir()
    with pytest.raises(ReadError, match=r"gt_folder\.npy: is a directory, expected a label map file"):
        hsi.dataset(tmp_path / "cube.npy", labels=tmp_path / "gt_folder.npy")
    with pytest.raises(ReadError, match=r"missing_gt\.npy: file not found"):
        hsi.dataset(tmp_path / "cube.npy", labels=tmp_path / "missing_gt.npy")
