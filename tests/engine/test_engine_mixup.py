"""Mixup / CutMix: inputs and targets mixed alike, refused where it cannot apply."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
import yaml

import metaframe
from engine_helpers import tiny_config
from metaframe.engine.build import build_encoder, build_model
from metaframe.engine.config import parse_config
from metaframe.engine.mixup import mix_batch
from metaframe_registry import ConfigError


def _cfg(tmp_path: Path, mixup: dict, head: dict | None = None):  # type: ignore[no-untyped-def]
    return parse_config(tiny_config(tmp_path, tmp_path / "run", mixup=mixup, head=head or {"kind": "classification"}))


def _batch(size: int = 6, shape: tuple[int, ...] = (3, 8, 8)) -> tuple[dict, dict, dict]:
    """Sample i is the constant i + 1 and has class i: every mixed pixel says which targets it carries."""
    x = torch.arange(1, size + 1, dtype=torch.float32).reshape(size, *[1] * len(shape)).expand(size, *shape).clone()
    return {"image": x}, {"label": torch.arange(size)}, {"label": list(range(size))}


@pytest.mark.parametrize("mixup", [{"alpha": 0.8}, {"cutmix_alpha": 1.0}, {"alpha": 0.8, "cutmix_alpha": 1.0}])
def test_mixed_inputs_and_targets_agree(tmp_path: Path, mixup: dict) -> None:
    cfg = _cfg(tmp_path, mixup)
    values = torch.arange(1, 7, dtype=torch.float32)
    boxes = 0
    for step in range(8):
        inputs, targets, maps = _batch()
        mixed, soft = mix_batch(cfg, inputs, targets, maps, step)
        y = soft["label"]
        assert y.shape == (6, 6) and torch.allclose(y.sum(1), torch.ones(6))
        x = mixed["image"]
        if "cutmix_alpha" in mixup and not torch.allclose(x, x.mean((1, 2, 3), keepdim=True)):
            # CutMix: the share of each sample's pixels taken from sample j is its target weight of j
            share = torch.stack([(x == v).float().mean((1, 2, 3)) for v in values], 1)
            assert torch.allclose(share, y, atol=1e-6)
            boxes += 1
        else:
            # Mixup (or a CutMix box of zero area): each pixel is the target-weighted blend of the values
            assert torch.allclose(x[:, 0, 0, 0], y @ values, atol=1e-5)
    assert (boxes > 0) == ("cutmix_alpha" in mixup)


def test_mixing_depends_on_seed_and_step_only(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, {"alpha": 0.8})
    a = mix_batch(cfg, *_batch(), step=3)
    b = mix_batch(cfg, *_batch(), step=3)
    c = mix_batch(cfg, *_batch(), step=4)
    assert torch.equal(a[0]["image"], b[0]["image"]) and torch.equal(a[1]["label"], b[1]["label"])
    assert not torch.equal(a[1]["label"], c[1]["label"])


def test_prob_zero_leaves_the_batch_alone(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, {"alpha": 0.8, "prob": 0.0})
    inputs, targets, maps = _batch()
    mixed, out = mix_batch(cfg, inputs, targets, maps, 0)
    assert mixed["image"] is inputs["image"] and out["label"] is targets["label"]


def test_multilabel_targets_mix_as_multi_hot_rows(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, {"alpha": 1.0}, head={"kind": "classification", "task": "multilabel"})
    multi_hot = torch.tensor([[1, 0], [0, 1], [1, 1], [0, 0]])
    # each image's two channels are its multi-hot row: mixed images must equal the mixed targets
    images = multi_hot.float()[:, :, None, None].expand(4, 2, 4, 4).clone()
    for step in range(4):
        mixed, soft = mix_batch(cfg, {"image": images}, {"label": multi_hot}, {"label": ["a", "b"]}, step)
        assert soft["label"].dtype == torch.float32
        assert torch.allclose(mixed["image"][:, :, 0, 0], soft["label"], atol=1e-6)


def test_mixup_refuses_batches_that_are_not_images_or_spectrograms(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, {"alpha": 0.8})
    with pytest.raises(ConfigError, match=r"^mixup\.modalities: 'image' collates to a 2-d torch.float32 tensor — mixup needs"):
        mix_batch(cfg, {"image": torch.zeros(4, 10)}, {"label": torch.arange(4)}, {"label": [0, 1, 2, 3]}, 0)
    with pytest.raises(ConfigError, match=r"^mixup\.modalities: 'image' collates to a dict"):
        mix_batch(cfg, {"image": {"tokens": torch.zeros(4, 3, 8, 8)}}, {"label": torch.arange(4)}, {"label": [0, 1, 2, 3]}, 0)


def test_mixup_refuses_regression_heads_and_unknown_modalities(image_folders: Path, tmp_path: Path) -> None:
    def build(mixup: dict, head: dict) -> None:
        cfg = parse_config(tiny_config(image_folders, tmp_path / "run", mixup=mixup, head=head))
        build_model(cfg, build_encoder(cfg.encoder), {"label": ["cat", "dog"]}, {})

    with pytest.raises(ConfigError, match=r"^mixup: mixes targets, .*heads\.label is 'regression'"):
        build({"alpha": 0.8}, {"kind": "regression"})
    with pytest.raises(ConfigError, match=r"^mixup\.modalities: 'audio' — not a modality of this config \(image\)"):
        build({"alpha": 0.8, "modalities": ["audio"]}, {"kind": "classification"})
    build({"alpha": 0.0}, {"kind": "regression"})  # off: any head


def test_a_run_with_mixup_and_cutmix_trains(image_folders: Path, tmp_path: Path) -> None:
    raw = tiny_config(image_folders, tmp_path / "run", epochs=1, mixup={"alpha": 0.8, "cutmix_alpha": 1.0})
    plain = metaframe.train(parse_config(tiny_config(image_folders, tmp_path / "plain", epochs=1)), quiet=True)
    mixed = metaframe.train(parse_config(raw), quiet=True)
    assert mixed.steps == plain.steps
    assert mixed.final["train_loss"] != pytest.approx(plain.final["train_loss"])
    assert 0.0 <= mixed.final["val_accuracy"] <= 1.0


RECORD = textwrap.dedent(
    """
    import os, sys
    import torch
    import metaframe
    import metaframe.engine.epoch as epoch

    records, real = [], epoch.mix_batch

    def recording(cfg, inputs, targets, label_maps, step):
        mixed, soft = real(cfg, inputs, targets, label_maps, step)
        records.append({"step": step, "x": inputs["image"].clone(), "y": targets["label"].clone(),
                        "mixed": mixed["image"].clone(), "soft": soft["label"].clone()})
        return mixed, soft

    epoch.mix_batch = recording
    metaframe.train(sys.argv[1], quiet=True)
    torch.save(records, os.path.join(sys.argv[2], f"rank{os.environ['RANK']}.pt"))
    """
)


def _partner(x: torch.Tensor, mixed: torch.Tensor, i: int) -> tuple[int, float | None]:
    """The j of this process's batch with mixed[i] = lam * x[i] + (1 - lam) * x[j], and lam (None: j = i)."""
    if torch.allclose(mixed[i], x[i], atol=1e-5):
        return i, None
    for j in range(x.shape[0]):
        d = (x[i] - x[j]).flatten()
        if j == i or float(d.norm()) == 0:
            continue
        lam = float(((mixed[i] - x[j]).flatten() @ d) / (d @ d))
        if torch.allclose(mixed[i], lam * x[i] + (1 - lam) * x[j], atol=1e-4):
            return j, lam
    raise AssertionError(f"sample {i}: no partner in this process's share of the batch")


def test_under_torchrun_each_process_mixes_its_share_with_one_lam(tmp_path: Path) -> None:
    """Two gloo processes: partners from the same process, the same lam on both, targets mixed alike."""
    from engine_helpers import run_module, write_image_folders

    data = write_image_folders(tmp_path / "images", per_class=16)  # 24 for training: 3 global batches of 8
    config = tiny_config(data, tmp_path / "run", epochs=1, batch_size=8, mixup={"alpha": 0.8})
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    (tmp_path / "script.py").write_text(RECORD)
    done = run_module(["torchrun", "--standalone", "--nproc-per-node", "2", str(tmp_path / "script.py"),
                       str(tmp_path / "config.yaml"), str(tmp_path)])
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1)]
    assert [r["step"] for r in ranks[0]] == [r["step"] for r in ranks[1]] == [0, 1, 2]
    lams_seen = 0
    for step_records in zip(*ranks):
        lams: list[float] = []
        for rec in step_records:
            assert rec["x"].shape[0] == 4  # each process holds half of the global batch of 8
            onehot = F.one_hot(rec["y"], 2).float()
            for i in range(4):
                j, lam = _partner(rec["x"], rec["mixed"], i)
                if lam is not None:
                    lams.append(lam)
                    assert torch.allclose(rec["soft"][i], lam * onehot[i] + (1 - lam) * onehot[j], atol=1e-4)
                else:
                    assert torch.allclose(rec["soft"][i], onehot[i], atol=1e-4)
        assert all(abs(lam - lams[0]) < 1e-3 for lam in lams)  # one lam per step, on both processes
        lams_seen += len(lams)
    assert lams_seen > 0


def test_validation_and_evaluate_never_mix(image_folders: Path, tmp_path: Path) -> None:
    """The validation loss of a mixed run is the plain loss of its model on the validation split."""
    raw = tiny_config(image_folders, tmp_path / "run", epochs=1, mixup={"alpha": 0.8, "cutmix_alpha": 1.0})
    run = metaframe.train(parse_config(raw), quiet=True)
    report = metaframe.evaluate(run.run_dir, checkpoint="last", quiet=True, device="cpu")
    assert report["heads"]["label"]["loss"] == pytest.approx(run.final["val_loss"], rel=1e-5)
