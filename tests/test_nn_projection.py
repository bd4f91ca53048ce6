"""``metaframe.nn.load_patch_projection``: the one loader infrared, X-ray and video use to start
from a trained image tokenizer (module, state dict or .safetensors file, prefix found, checked,
channels adapted)."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from metaframe.nn import PatchEmbed2d, load_patch_projection, sum_input_channels

D, P = 16, 8


@pytest.fixture
def rgb() -> PatchEmbed2d:
    torch.manual_seed(0)
    tok = PatchEmbed2d(D, in_channels=3, patch_size=P, image_size=32)
    with torch.no_grad():
        tok.proj.bias.normal_()
    return tok


def same_as(parts, tok: PatchEmbed2d) -> None:
    torch.testing.assert_close(parts.weight, tok.proj.weight.detach())
    torch.testing.assert_close(parts.bias, tok.proj.bias.detach())
    torch.testing.assert_close(parts.pos_embed, tok.pos_embed.detach())
    assert parts.grid == (4, 4)


def test_from_a_module(rgb):
    parts = load_patch_projection(rgb, embed_dim=D, patch_size=P)
    same_as(parts, rgb)
    assert parts.name == "PatchEmbed2d"
    # a detached copy: changing it leaves the source alone
    parts.weight.zero_()
    assert rgb.proj.weight.abs().sum() > 0 and not parts.weight.requires_grad


def test_from_a_state_dict(rgb):
    same_as(load_patch_projection(rgb.state_dict(), embed_dim=D, patch_size=P), rgb)


def test_from_a_safetensors_file(rgb, tmp_path):
    save_file(rgb.state_dict(), tmp_path / "image_tok.safetensors")
    parts = load_patch_projection(str(tmp_path / "image_tok.safetensors"), embed_dim=D, patch_size=P)
    same_as(parts, rgb)
    assert parts.name.endswith("image_tok.safetensors")


def test_a_file_without_positions_gives_none(rgb):
    state = {k: v for k, v in rgb.state_dict().items() if k != "pos_embed"}
    parts = load_patch_projection(state)
    assert parts.pos_embed is None and parts.grid is None


def test_the_prefix_is_found_inside_a_larger_checkpoint(rgb, tmp_path):
    checkpoint = {f"tokenizers.image.{k}": v for k, v in rgb.state_dict().items()}
    checkpoint["heads.cls.weight"] = torch.randn(3, D)
    checkpoint["heads.cls.bias"] = torch.randn(3)
    save_file(checkpoint, tmp_path / "model.safetensors")
    same_as(load_patch_projection(str(tmp_path / "model.safetensors"), embed_dim=D, patch_size=P), rgb)
    same_as(load_patch_projection(checkpoint, prefix="tokenizers.image."), rgb)


def test_several_projections_need_a_prefix(rgb):
    other = PatchEmbed2d(D, in_channels=1, patch_size=P, image_size=32)
    checkpoint = {**{f"a.{k}": v for k, v in rgb.state_dict().items()}, **{f"b.{k}": v for k, v in other.state_dict().items()}}
    with pytest.raises(KeyError, match=r"several patch projections \['a\.', 'b\.'\]; choose one with init_prefix="):
        load_patch_projection(checkpoint, option="init_from")
    torch.testing.assert_close(load_patch_projection(checkpoint, prefix="b.").weight, other.proj.weight.detach())


def test_a_wrong_prefix_names_the_key_and_the_option(rgb):
    checkpoint = {f"tokenizers.image.{k}": v for k, v in rgb.state_dict().items()}
    with pytest.raises(KeyError, match=r"no key 'tokenizers\.rgb\.proj\.weight' \(inflate_prefix='tokenizers\.rgb\.'\)"):
        load_patch_projection(checkpoint, prefix="tokenizers.rgb.", option="inflate_from")
    with pytest.raises(KeyError, match="holds no patch projection"):
        load_patch_projection({"heads.cls.weight": torch.randn(3, D)})


def test_a_wrong_embed_dim_names_both_widths(rgb):
    with pytest.raises(ValueError, match="projection is 16 wide, this tokenizer is 32"):
        load_patch_projection(rgb, embed_dim=32, patch_size=P)


def test_a_wrong_patch_size_names_both_sizes(rgb, tmp_path):
    save_file(rgb.state_dict(), tmp_path / "image_tok.safetensors")
    with pytest.raises(ValueError, match=r"image_tok\.safetensors: patches are 8x8, this tokenizer's are 16x16"):
        load_patch_projection(str(tmp_path / "image_tok.safetensors"), embed_dim=D, patch_size=16)


def test_missing_and_unreadable_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"init_from='.*missing\.safetensors': no such file"):
        load_patch_projection(str(tmp_path / "missing.safetensors"), option="init_from")
    (tmp_path / "junk.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match=r"junk\.safetensors: not a readable safetensors file"):
        load_patch_projection(str(tmp_path / "junk.safetensors"))
    with pytest.raises(TypeError, match="not an image patch tokenizer"):
        load_patch_projection(torch.nn.Linear(3, 3))


def test_three_to_one_channel_equals_summing_a_gray_image_repeated_in_rgb(rgb):
    parts = load_patch_projection(rgb, embed_dim=D, patch_size=P, in_channels=1)
    assert parts.weight.shape == (D, 1, P, P)
    torch.testing.assert_close(parts.weight, rgb.proj.weight.detach().sum(1, keepdim=True))
    gray = PatchEmbed2d(D, in_channels=1, patch_size=P, image_size=32)
    gray.load_projection_from(rgb)
    x = torch.rand(2, 1, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(gray(x).tokens, rgb(x.expand(-1, 3, -1, -1)).tokens, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("channels", [1, 2, 4, 5, 6])
def test_other_channel_counts_keep_a_constant_image_response(rgb, channels):
    weight = rgb.proj.weight.detach()
    adapted = sum_input_channels(weight, channels)
    assert adapted.shape == (D, channels, P, P)
    # a constant image gives value * (the filter summed over channels and pixels): unchanged
    torch.testing.assert_close(adapted.sum((1, 2, 3)), weight.sum((1, 2, 3)), rtol=1e-5, atol=1e-5)


def test_channel_rules_on_a_known_filter():
    weight = torch.tensor([1.0, 2.0, 4.0]).view(1, 3, 1, 1)
    assert sum_input_channels(weight, 3) is weight
    assert sum_input_channels(weight, 1).flatten().tolist() == [7.0]
    assert sum_input_channels(weight, 2).flatten().tolist() == [5.0, 2.0]  # channel 2 folds into 0
    assert sum_input_channels(weight, 6).flatten().tolist() == [0.5, 1.0, 2.0, 0.5, 1.0, 2.0]  # timm's 3/6
    assert sum_input_channels(weight, 4).flatten().tolist() == [0.5, 2.0, 4.0, 0.5]
    with pytest.raises(ValueError, match="in_channels must be >= 1, got 0"):
        sum_input_channels(weight, 0)
