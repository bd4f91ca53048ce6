"""The infrared tokenizer through the registry: frozen-encoder gradients, fitted statistics,
transfer from a saved 3-channel image tokenizer."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file, save_file

import metaframe
from metaframe.nn import PatchEmbed2d
from metaframe_infrared.transfer import load_image_projection

D = 32


@pytest.fixture(scope="module")
def infrared():
    return metaframe.get_modality("infrared")


def small(infrared, **options):
    return infrared.build_tokenizer(embed_dim=D, **{**infrared.manifest.example_tokenizer_options, **options})


def rgb_tokenizer() -> PatchEmbed2d:
    """A trained image tokenizer stands in as the core's 3-channel patch embedding (what the image
    plugin's tokenizer is), so these tests need no other plugin."""
    return PatchEmbed2d(D, in_channels=3, patch_size=8, image_size=32)


def test_examples_through_frozen_encoder_train_the_tokenizer(infrared, tmp_path):
    samples = [infrared.read(src, **infrared.manifest.example_reader_options) for src in infrared.examples(tmp_path)]
    assert len(samples) >= 2
    batch = infrared.collate(samples)
    encoder = metaframe.FrozenEncoder(embed_dim=D, depth=2, num_heads=2)
    head = metaframe.build_head("classification", embed_dim=D, num_classes=3)
    model = metaframe.MetaModel(encoder, tokenizers={"infrared": small(infrared)}, heads={"cls": head})
    logits = model({"infrared": batch})["cls"]
    assert logits.shape == (len(samples), 3)
    logits.sum().backward()
    tokenizer = model.tokenizers["infrared"]
    assert tokenizer.proj.weight.grad is not None and tokenizer.proj.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in encoder.parameters())


def test_dataset_statistics_are_fitted_and_saved(infrared, tmp_path):
    torch.manual_seed(0)
    train = [torch.rand(1, 32, 32) * 1000 + 200 for _ in range(3)]
    tok = small(infrared, normalize="dataset")
    with pytest.raises(RuntimeError, match="not fitted"):
        tok(torch.stack(train))
    tok.fit(train)
    pixels = torch.stack(train).double()
    assert tok.fitted_state()["mean"][0] == pytest.approx(pixels.mean().item(), rel=1e-5)
    assert tok.fitted_state()["std"][0] == pytest.approx(pixels.std(unbiased=False).item(), rel=1e-4)
    # normalising inside equals feeding pre-normalised images to an unnormalised twin
    twin = small(infrared)
    twin.load_state_dict({k: v for k, v in tok.state_dict().items() if not k.startswith("norm_")}, strict=False)
    x = torch.stack(train[:2])
    expected = twin((x - pixels.mean().float()) / pixels.std(unbiased=False).float()).tokens
    assert torch.allclose(tok(x).tokens, expected, atol=1e-4)
    # the statistics travel with the weights (safetensors) and as JSON
    save_file(tok.state_dict(), tmp_path / "ir.safetensors")
    restored = small(infrared, normalize="dataset")
    restored.load_state_dict(load_file(tmp_path / "ir.safetensors"))
    assert torch.allclose(restored(x).tokens, tok(x).tokens)
    again = small(infrared, normalize="dataset")
    again.load_fitted_state(tok.fitted_state())
    assert torch.allclose(again.norm_std, tok.norm_std)
    with pytest.raises(ValueError, match="'mean' and 'std' with 1 value"):
        again.load_fitted_state({"mean": [1.0, 2.0], "std": [1.0, 1.0]})


def test_init_from_saved_image_tokenizer_sums_rgb_filters(infrared, tmp_path):
    image_tok = rgb_tokenizer()
    save_file(image_tok.state_dict(), tmp_path / "image_tok.safetensors")
    tok = small(infrared, init_from=str(tmp_path / "image_tok.safetensors"))
    assert torch.allclose(tok.proj.weight, image_tok.proj.weight.sum(1, keepdim=True))
    # a gray image gives the tokens the RGB tokenizer gives for (x, x, x)
    gray = torch.rand(2, 1, 32, 32)
    assert torch.allclose(tok(gray).tokens, image_tok(gray.expand(-1, 3, -1, -1)).tokens, atol=1e-5)


def test_init_from_metamodel_checkpoint_and_mismatches(infrared, tmp_path):
    image_tok = rgb_tokenizer()
    encoder = metaframe.FrozenEncoder(embed_dim=D, depth=1, num_heads=2)
    model = metaframe.MetaModel(encoder, tokenizers={"image": image_tok})
    save_file(model.trainable_state_dict(), tmp_path / "model.safetensors")
    tok = small(infrared, init_from=str(tmp_path / "model.safetensors"))
    assert torch.allclose(tok.pos_embed, image_tok.pos_embed)
    with pytest.raises(ValueError, match="projection is 32 wide, this tokenizer is 16"):
        infrared.build_tokenizer(embed_dim=16, patch_size=8, image_size=32, init_from=str(tmp_path / "model.safetensors"))
    with pytest.raises(ValueError, match="patches are 8x8, this tokenizer's are 16x16"):
        small(infrared, patch_size=16, init_from=str(tmp_path / "model.safetensors"))
    with pytest.raises(FileNotFoundError, match="missing.safetensors"):
        small(infrared, init_from=str(tmp_path / "missing.safetensors"))
    with pytest.raises(KeyError, match=r"no key 'tokenizers\.rgb\.proj\.weight' \(init_prefix='tokenizers\.rgb\.'\)"):
        small(infrared, init_from=str(tmp_path / "model.safetensors"), init_prefix="tokenizers.rgb.")


def test_the_documented_function_loads_a_state_dict_or_a_module(infrared):
    image_tok = rgb_tokenizer()
    for source in (image_tok, image_tok.state_dict()):
        tok = small(infrared)
        load_image_projection(tok, source)
        assert torch.allclose(tok.proj.weight, image_tok.proj.weight.sum(1, keepdim=True))
        assert torch.allclose(tok.proj.bias, image_tok.proj.bias)


def test_wrong_channel_batch_is_refused(infrared):
    with pytest.raises(ValueError, match=r"expected images \[batch, 1, height, width\]"):
        small(infrared)(torch.rand(2, 3, 32, 32))
