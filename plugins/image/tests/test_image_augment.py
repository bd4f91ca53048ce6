"""Image training augmentations (tokenizer option ``augment``): on in train mode, off in eval."""

from __future__ import annotations

import pytest
import torch

import metaframe
from metaframe_registry import ConfigError

AUGMENT = {"random_resized_crop": {"scale": [0.3, 1.0]}, "hflip": 0.5, "randaugment": {"num_ops": 2, "magnitude": 9}}


def _model(augment: dict | None) -> metaframe.MetaModel:
    torch.manual_seed(0)
    image = metaframe.get_modality("image")
    tokenizer = image.build_tokenizer(embed_dim=32, patch_size=4, image_size=16, augment=augment)
    encoder = metaframe.FrozenEncoder(embed_dim=32, depth=1, num_heads=2)
    head = metaframe.build_head("classification", embed_dim=32, num_classes=2)
    return metaframe.MetaModel(encoder, tokenizers={"image": tokenizer}, heads={"label": head})


def _images() -> torch.Tensor:
    return torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(1))


def test_augment_changes_training_passes_and_leaves_eval_alone() -> None:
    model = _model(AUGMENT)
    batch = {"image": _images()}
    model.train()
    with torch.no_grad():
        torch.manual_seed(0)
        a = model(batch)["label"]
        torch.manual_seed(1)
        b = model(batch)["label"]
    assert not torch.allclose(a, b)
    model.eval()
    with torch.no_grad():
        passes = []
        for seed in range(3):
            torch.manual_seed(seed)
            passes.append(model(batch)["label"])
    assert all(torch.equal(passes[0], p) for p in passes[1:])
    plain = _model(None).eval()
    with torch.no_grad():
        assert torch.equal(plain(batch)["label"], passes[0])  # the same weights: eval ignores augment


def test_each_augmentation_keeps_the_batch_shape_and_draws_per_image() -> None:
    from metaframe_image.augment import ImageAugment

    images = _images()
    torch.manual_seed(0)
    flipped = ImageAugment.from_option({"hflip": 1.0})(images)
    assert torch.equal(flipped, images.flip(-1))
    torch.manual_seed(0)
    cropped = ImageAugment.from_option({"random_resized_crop": {"scale": [0.1, 0.2]}})(images)
    assert cropped.shape == images.shape and not torch.allclose(cropped, images)
    torch.manual_seed(0)
    same = images[:1].expand(4, -1, -1, -1).clone()
    out = ImageAugment.from_option({"randaugment": {"num_ops": 2, "magnitude": 9}})(same)
    assert out.shape == same.shape and out.dtype == same.dtype
    assert not all(torch.equal(out[0], out[i]) for i in range(1, 4))  # one draw per image, not per batch


@pytest.mark.parametrize(
    "option, message",
    [
        ({"blur": 1}, r"augment: unknown option\(s\) blur; expected random_resized_crop, hflip, randaugment"),
        ({"hflip": 2}, r"augment.hflip: 2.0 — expected a probability in \[0, 1\]"),
        ({"random_resized_crop": {"scale": [0.5, 2]}}, r"augment.random_resized_crop: .* expected scale"),
        ({"randaugment": {"num_opz": 2}}, r"augment.randaugment: \{'num_opz': 2\} — .*num_opz"),
    ],
)
def test_bad_augment_options_are_config_errors(option: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        metaframe.get_modality("image").build_tokenizer(embed_dim=32, augment=option)
