"""The tubelet tokenizer through the registry: token counts, positions, inflation, gradients."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import pytest
import torch

import metaframe
from metaframe.nn import PatchEmbed2d
from metaframe_video.inflate import inflate_from_image

SMALL = {"num_frames": 4, "image_size": 32, "tubelet_size": 2, "patch_size": 16}


def image_tokenizer(embed_dim: int, patch_size: int = 16, image_size: int = 224) -> PatchEmbed2d:
    """A trained image tokenizer as the core's 3-channel patch embedding (the image plugin's
    tokenizer is one), so inflation is tested without another plugin installed."""
    return PatchEmbed2d(embed_dim, in_channels=3, patch_size=patch_size, image_size=image_size)


def test_defaults_give_1568_tokens_as_the_manifest_says(video):
    tokenizer = video.build_tokenizer(embed_dim=8)
    assert tokenizer.num_tokens == 8 * 14 * 14 == 1568 == video.manifest.info["tokens_at_defaults"]
    assert tuple(tokenizer.proj.kernel_size) == tuple(tokenizer.proj.stride) == (2, 16, 16)
    with torch.no_grad():
        out = tokenizer(torch.zeros(1, 3, 16, 224, 224))
    assert out.tokens.shape == (1, 1568, 8) and bool(out.valid_mask.all())


def test_list_modalities_json_reports_the_token_count():
    result = subprocess.run(
        [sys.executable, "-m", "metaframe", "list-modalities", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    row = next(r for r in json.loads(result.stdout) if r["name"] == "video")
    assert row["status"] == "ok"
    assert row["info"]["tokens_at_defaults"] == 1568
    assert row["info"]["tokens_examples"]["32 frames, 224"] == 3136
    assert row["info"]["warns_above_tokens"] == 2048


def test_warns_when_a_configuration_is_too_long(video):
    with pytest.warns(UserWarning, match="3136 tokens per clip, more than 2048"):
        video.build_tokenizer(embed_dim=8, num_frames=32)
    tokenizer = video.build_tokenizer(embed_dim=8, **SMALL)
    with pytest.warns(UserWarning, match="40 tokens per clip, more than 16"):
        video.build_tokenizer(embed_dim=8, max_tokens=16, num_frames=10, image_size=[64, 32])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tokenizer(torch.zeros(1, 3, 4, 32, 32))  # the configured size: no warning


def test_positions_interpolate_to_other_grids_and_order_is_time_major(video):
    tokenizer = video.build_tokenizer(embed_dim=8, **SMALL)
    out = tokenizer(torch.zeros(2, 3, 8, 48, 64))
    assert out.tokens.shape == (2, 4 * 3 * 4, 8)
    with torch.no_grad():
        tokenizer.proj.weight.zero_()
        tokenizer.proj.bias.zero_()
        pos = tokenizer(torch.zeros(1, 3, 4, 32, 32)).tokens[0]  # positions only: [2 * 2 * 2, D]
    expected = tokenizer.time_embed[0][:, None] + tokenizer.space_embed[0][None, :]
    torch.testing.assert_close(pos, expected.reshape(8, 8))


def test_inputs_that_do_not_divide_into_tubelets_are_refused(video):
    tokenizer = video.build_tokenizer(embed_dim=8, **SMALL)
    with pytest.raises(ValueError, match="does not divide into tubelets"):
        tokenizer(torch.zeros(1, 3, 5, 32, 32))  # an odd frame would be dropped silently
    with pytest.raises(ValueError, match=r"expected clips \[batch, 3, frames, height, width\]"):
        tokenizer(torch.zeros(3, 4, 32, 32))
    with pytest.raises(ValueError, match="num_frames 3 must be a positive multiple"):
        video.build_tokenizer(embed_dim=8, num_frames=3, image_size=32)


@pytest.mark.parametrize("mode", ["average", "central"])
def test_inflation_reproduces_the_image_tokenizer_on_a_static_clip(video, mode):
    image_tok = image_tokenizer(embed_dim=8, patch_size=16, image_size=32)
    video_tok = video.build_tokenizer(embed_dim=8, num_frames=4, image_size=32)
    frame = torch.randn(2, 3, 32, 32)
    static = frame[:, :, None].expand(2, 3, 4, 32, 32)
    before = video_tok(static).tokens.reshape(2, 2, 4, 8)
    assert not torch.allclose(before[:, 0], image_tok(frame).tokens, atol=1e-3)
    inflate_from_image(video_tok, image_tok, mode=mode)
    with torch.no_grad():
        tokens = video_tok(static).tokens.reshape(2, 2, 4, 8)  # [B, T', H'W', D]
        expected = image_tok(frame).tokens
    for step in range(2):
        torch.testing.assert_close(tokens[:, step], expected, rtol=1e-4, atol=1e-5)


def test_inflation_refuses_mismatched_tokenizers(video):
    video_tok = video.build_tokenizer(embed_dim=8, **SMALL)
    with pytest.raises(ValueError, match="patches are 8x8"):
        inflate_from_image(video_tok, image_tokenizer(embed_dim=8, patch_size=8, image_size=32))
    with pytest.raises(ValueError, match="16 wide"):
        inflate_from_image(video_tok, image_tokenizer(embed_dim=16, image_size=32))
    with pytest.raises(ValueError, match="inflation mode 'middle'"):
        inflate_from_image(video_tok, image_tokenizer(embed_dim=8, image_size=32), "middle")


def test_gradient_reaches_the_tokenizer_through_the_frozen_encoder(video, make_clip):
    clips = video.collate([video.read(make_clip(12), num_frames=4, size=32), video.read(make_clip(6, name="b"), num_frames=4, size=32)])
    encoder = metaframe.FrozenEncoder(embed_dim=32, depth=2, num_heads=2)
    tokenizer = video.build_tokenizer(embed_dim=32, **SMALL)
    head = metaframe.build_head("classification", embed_dim=32, num_classes=3)
    model = metaframe.MetaModel(encoder, tokenizers={"video": tokenizer}, heads={"label": head})
    model.train()
    logits = model({"video": clips})["label"]
    torch.nn.functional.cross_entropy(logits, torch.tensor([0, 2])).backward()
    for name in ("proj.weight", "proj.bias", "time_embed", "space_embed"):
        grad = dict(tokenizer.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name
    assert all(p.grad is None and not p.requires_grad for p in encoder.parameters())


def test_state_dict_round_trips_through_safetensors(video, tmp_path):
    from safetensors.torch import load_file, save_file

    tokenizer = video.build_tokenizer(embed_dim=8, **SMALL)
    save_file(tokenizer.state_dict(), tmp_path / "tok.safetensors")
    other = video.build_tokenizer(embed_dim=8, **SMALL)
    other.load_state_dict(load_file(tmp_path / "tok.safetensors"))
    clip = torch.randn(1, 3, 4, 32, 32)
    torch.testing.assert_close(other(clip).tokens, tokenizer(clip).tokens)


def test_inflate_from_option_reads_a_saved_image_tokenizer(video, tmp_path):
    from safetensors.torch import save_file

    image_tok = image_tokenizer(embed_dim=8, patch_size=16, image_size=32)
    save_file({f"tokenizers.image.{k}": v for k, v in image_tok.state_dict().items()}, tmp_path / "ckpt.safetensors")
    video_tok = video.build_tokenizer(
        embed_dim=8, **SMALL, inflate_from=str(tmp_path / "ckpt.safetensors"), inflate_prefix="tokenizers.image.", inflation="central"
    )
    frame = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        tokens = video_tok(frame[:, :, None].expand(1, 3, 4, 32, 32)).tokens.reshape(1, 2, 4, 8)
        torch.testing.assert_close(tokens[:, 1], image_tok(frame).tokens, rtol=1e-4, atol=1e-5)
    # without inflate_prefix the one projection in the checkpoint is found
    found = video.build_tokenizer(embed_dim=8, **SMALL, inflate_from=str(tmp_path / "ckpt.safetensors"), inflation="central")
    torch.testing.assert_close(found.proj.weight, video_tok.proj.weight)
    torch.testing.assert_close(found.space_embed, video_tok.space_embed)
    # a wrong prefix is an error naming the key looked for and the option
    with pytest.raises(KeyError, match=r"no key 'tokenizers\.rgb\.proj\.weight' \(inflate_prefix='tokenizers\.rgb\.'\)"):
        video.build_tokenizer(embed_dim=8, **SMALL, inflate_from=str(tmp_path / "ckpt.safetensors"), inflate_prefix="tokenizers.rgb.")
    with pytest.raises(FileNotFoundError, match="missing.safetensors"):
        video.build_tokenizer(embed_dim=8, **SMALL, inflate_from=str(tmp_path / "missing.safetensors"))


def test_entry_module_imports_no_torch_or_av():
    code = "import sys, metaframe_video; metaframe_video.manifest(); print(sorted({'torch', 'av', 'numpy'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
