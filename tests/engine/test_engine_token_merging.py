"""Token merging switched on for a run already trained: load_run, evaluate and encode, Python and CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

import metaframe
from engine_helpers import run_module, tiny_config
from metaframe.merging import TokenMerging


@pytest.fixture
def trained_run(image_folders: Path, tmp_path: Path) -> Path:
    config = tiny_config(image_folders, tmp_path / "run", epochs=1, tokenizer={"patch_size": 2, "image_size": 8})
    return metaframe.train(config, quiet=True).run_dir  # 16 patches + [CLS]


def _cls(model: metaframe.MetaModel, files: list[Path]) -> torch.Tensor:
    image = metaframe.get_modality("image")
    with torch.no_grad():
        return model.encode({"image": image.collate([image.read(f, size=8) for f in files])}).cls


def test_load_run_switches_merging_on_and_off(trained_run: Path, image_folders: Path) -> None:
    files = sorted((image_folders / "cat").glob("*.png"))[:3]
    plain = metaframe.load_run(trained_run)
    assert plain.token_merging is None
    merged = metaframe.load_run(trained_run, token_merging=TokenMerging(r=3))
    assert merged.token_merging == TokenMerging(r=3)
    assert not torch.allclose(_cls(merged, files), _cls(plain, files), atol=1e-4)
    assert torch.equal(_cls(metaframe.load_run(trained_run, token_merging=0), files), _cls(plain, files))


def test_evaluate_and_encode_cli_take_token_merging(trained_run: Path, image_folders: Path, tmp_path: Path) -> None:
    done = run_module(["metaframe", "evaluate", str(trained_run), "--data", str(image_folders),
                       "--out", str(tmp_path / "ev"), "--token-merging", "3", "-q"])
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "ev" / "report.json").read_text())["count"] == 24
    files = [str(f) for f in sorted((image_folders / "dog").glob("*.png"))[:2]]
    out = tmp_path / "emb.npy"
    done = run_module(["metaframe", "encode", "image", *files, "--out", str(out), "--run", str(trained_run),
                       "--token-merging", "0.5:decreasing", "--pooling", "cls", "--workers", "0", "-q"])
    assert done.returncode == 0, done.stderr
    merging = TokenMerging(ratio=0.5, schedule="decreasing")
    expected = _cls(metaframe.load_run(trained_run, token_merging=merging), [Path(f) for f in files])
    np.testing.assert_allclose(np.load(out), expected.numpy(), atol=1e-5)
    bad = run_module(["metaframe", "evaluate", str(trained_run), "--token-merging", "lots"])
    assert bad.returncode != 0 and "--token-merging" in bad.stderr and "'lots'" in bad.stderr
    bad = run_module(["metaframe", "evaluate", str(trained_run), "--token-merging", "0.5:fast"])
    assert bad.returncode != 0 and "'0.5:fast'" in bad.stderr and "schedule" in bad.stderr


def test_the_config_field_is_validated_and_read_by_load_run(trained_run: Path) -> None:
    from metaframe.engine.config import EncoderConfig

    assert EncoderConfig().token_merging is None
    with pytest.raises(ValueError, match="exactly one of r or ratio"):
        EncoderConfig(token_merging={"r": 2, "ratio": 0.5})
    with pytest.raises(ValueError, match="ratio"):
        EncoderConfig(token_merging={"ratio": 1.5})
    config_file = trained_run / "config.yaml"
    saved = yaml.safe_load(config_file.read_text())
    saved["encoder"]["token_merging"] = {"r": 2}
    config_file.write_text(yaml.safe_dump(saved))
    assert metaframe.load_run(trained_run).token_merging == TokenMerging(r=2)
    assert metaframe.load_run(trained_run, token_merging=TokenMerging(r=0)).token_merging == TokenMerging(r=0)


def test_training_with_the_config_field_merges_tokens_during_training(image_folders: Path, tmp_path: Path) -> None:
    def run(merging: dict | None, name: str) -> list[float]:
        encoder = {"embed_dim": 32, "depth": 2, "num_heads": 2, "seed": 0}
        if merging is not None:
            encoder["token_merging"] = merging
        config = tiny_config(image_folders, tmp_path / name, epochs=1, encoder=encoder,
                             tokenizer={"patch_size": 2, "image_size": 8})
        losses: list[float] = []
        metaframe.train(config, quiet=True, callback=lambda record: losses.append(record["loss"]))
        return losses

    plain, merged, off = run(None, "plain"), run({"r": 6}, "merged"), run({"r": 0}, "off")
    assert plain == off  # r = 0 is the plain encoder, bitwise
    assert plain != merged  # the field reached the training forward passes
