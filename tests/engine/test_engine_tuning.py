"""LoRA adapters and prompts in runs: trained, saved, resumed, reloaded; the shared base never changes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import metaframe
from engine_helpers import run_module, tiny_config
from metaframe.engine.build import build_encoder
from metaframe.engine.config import EncoderConfig
from metaframe_registry import ConfigError

ENCODER = {"embed_dim": 32, "depth": 2, "num_heads": 2, "seed": 0}


def config(images: Path, out: Path, **encoder: Any) -> dict[str, Any]:
    return tiny_config(images, out, epochs=2, encoder={**ENCODER, **encoder}, schedule={"name": "constant"})


def _cls(model: metaframe.MetaModel, files: list[Path]) -> torch.Tensor:
    image = metaframe.get_modality("image")
    with torch.no_grad():
        return model.encode({"image": image.collate([image.read(f, size=8) for f in files])}).cls


def _saved(run: Path) -> dict[str, torch.Tensor]:
    from metaframe.engine import checkpoint as ckpt_io

    return ckpt_io.load_model_state(ckpt_io.find_checkpoint(run, "last"))


def test_two_runs_share_one_base_and_keep_their_own_adapters(image_folders: Path, tmp_path: Path) -> None:
    base = build_encoder(EncoderConfig(**ENCODER))
    sha, weights = base.weights_sha256(), {k: v.clone() for k, v in base.state_dict().items()}
    lora = metaframe.train(config(image_folders, tmp_path / "a", adapters={"rank": 4}), quiet=True).run_dir
    mlp = metaframe.train(
        config(image_folders, tmp_path / "b", adapters={"rank": 2, "targets": ["fc1", "fc2"]}), quiet=True
    ).run_dir
    assert all(torch.equal(weights[k], v) for k, v in base.state_dict().items())
    assert base.weights_sha256() == sha == base.identity.sha256
    saved = _saved(lora)
    assert sorted(k for k in saved if k.startswith("adapters.")) == sorted(
        f"adapters.lora.blocks__{i}__attn__{t}.{p}" for i in range(2) for t in ("qkv", "proj") for p in "AB"
    )
    assert any(saved[k].abs().sum() > 0 for k in saved if k.endswith(".B"))  # trained away from zero
    a, b = metaframe.load_run(lora), metaframe.load_run(mlp)
    assert a.encoder is b.encoder is base
    assert torch.equal(a.adapters.lora["blocks__0__attn__qkv"].B, saved["adapters.lora.blocks__0__attn__qkv.B"])
    files = sorted((image_folders / "cat").glob("*.png"))[:3]
    first_a, first_b = _cls(a, files), _cls(b, files)
    assert not torch.allclose(first_a, first_b)
    assert torch.equal(_cls(a, files), first_a) and torch.equal(_cls(b, files), first_b)  # interleaved
    counts = json.loads((lora / "parameters.json").read_text())
    assert counts["adapters"] == 2 * 4 * ((32 + 96) + (32 + 32)) and counts["prompts"] == 0
    assert counts["total"] == sum(v for k, v in counts.items() if k != "total")


def test_adapters_and_prompts_resume_where_they_stopped(image_folders: Path, tmp_path: Path) -> None:
    tuning = {"adapters": {"rank": 2}, "prompts": {"num_tokens": 3, "deep": True}}
    straight = metaframe.train(config(image_folders, tmp_path / "straight", **tuning), quiet=True).run_dir
    half = config(image_folders, tmp_path / "half", **tuning)
    metaframe.train({**half, "epochs": 1}, quiet=True)
    metaframe.train(half, resume=tmp_path / "half", quiet=True)
    a, b = _saved(straight), _saved(tmp_path / "half")
    tuned = [k for k in a if k.startswith(("adapters.", "prompts."))]
    assert "prompts.tokens" in tuned and len(tuned) == 1 + 2 * 2 * 2
    assert all(torch.equal(a[k], b[k]) for k in tuned)
    counts = json.loads((straight / "parameters.json").read_text())
    assert counts["prompts"] == 2 * 3 * 32


def test_encode_cli_uses_the_runs_adapters(image_folders: Path, tmp_path: Path) -> None:
    run = metaframe.train(
        config(image_folders, tmp_path / "run", adapters={"rank": 2}, prompts={"num_tokens": 2}), quiet=True
    ).run_dir
    files = sorted((image_folders / "dog").glob("*.png"))[:2]
    out = tmp_path / "emb.npy"
    done = run_module(["metaframe", "encode", "image", *map(str, files), "--out", str(out), "--run", str(run),
                       "--pooling", "cls", "--workers", "0", "-q"])
    assert done.returncode == 0, done.stderr
    np.testing.assert_allclose(np.load(out), _cls(metaframe.load_run(run), files).numpy(), atol=1e-5)
    loaded = metaframe.load_run(run)
    loaded.adapters, loaded.prompts = None, None  # the same run without its tuning is another model
    assert not np.allclose(np.load(out), _cls(loaded, files).numpy(), atol=1e-4)


def test_bad_tuning_configs_name_the_field(image_folders: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"encoder\.adapters\.targets: query"):
        metaframe.train(config(image_folders, tmp_path / "r1", adapters={"targets": ["query"]}), quiet=True)
    with pytest.raises(ConfigError, match=r"encoder\.adapters: .*activation_checkpointing"):
        metaframe.train(
            config(image_folders, tmp_path / "r2", adapters={}, activation_checkpointing=True), quiet=True
        )
    with pytest.raises(ConfigError, match=r"encoder\.adapters\.rank: 0"):
        metaframe.train(config(image_folders, tmp_path / "r3", adapters={"rank": 0}), quiet=True)
    none = tiny_config(image_folders, tmp_path / "r4", encoder={"name": "none", "options": {"embed_dim": 32},
                                                                "prompts": {"num_tokens": 2, "deep": True}})
    with pytest.raises(ConfigError, match=r"^encoder\.prompts\.deep: prompts before every block, but encoder 'none' has no blocks"):
        metaframe.train(none, quiet=True)
    none["encoder"]["prompts"]["deep"] = False  # shallow prompts need no blocks
    assert metaframe.train({**none, "epochs": 1}, quiet=True).steps > 0


OWN_LRS = {"adapters": {"rank": 2, "lr": 2e-4}, "prompts": {"num_tokens": 2, "lr": 5e-4}}
COSINE = {"name": "cosine", "warmup_steps": 2, "min_lr_ratio": 0.1}


def _optimizer(run: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    from metaframe.engine import checkpoint as ckpt_io

    opt, state, _ = ckpt_io.load_training_state(ckpt_io.find_checkpoint(run, "last"))
    return opt, state


def test_adapters_and_prompts_learn_at_their_own_rate_on_the_common_schedule(image_folders: Path, tmp_path: Path) -> None:
    from metaframe.engine.build import cosine_lambda

    warm = {**COSINE, "warmup_steps": 16}  # the run ends inside its warm-up: every lr is a fraction of its own peak
    run = metaframe.train({**config(image_folders, tmp_path / "run", **OWN_LRS), "schedule": warm}, quiet=True)
    opt, state = _optimizer(run.run_dir)
    groups = opt["param_groups"]
    assert [g["initial_lr"] for g in groups] == [0.003, 0.003, 2e-4, 2e-4, 5e-4, 5e-4]  # model, adapters, prompts
    assert [g["weight_decay"] for g in groups] == [0.05, 0.0] * 3  # matrices only, as before
    factor = cosine_lambda(run.steps, 16, 0.1)(state["step"])
    assert state["step"] == run.steps == 10 and factor == 11 / 16
    assert [g["lr"] for g in groups] == pytest.approx([g["initial_lr"] * factor for g in groups])
    numel = {int(i): opt["state"][i]["exp_avg"].numel() for i in opt["state"]}  # every parameter got a step
    counts = json.loads((run.run_dir / "parameters.json").read_text())
    per_group = [sum(numel[i] for i in g["params"]) for g in groups]
    assert per_group[2] + per_group[3] == counts["adapters"] == 2 * 2 * ((32 + 96) + (32 + 32))
    assert per_group[4] + per_group[5] == counts["prompts"] == 2 * 32
    assert per_group[0] + per_group[1] == counts["total"] - counts["adapters"] - counts["prompts"]
    assert groups[3]["params"] == [] and groups[5]["params"] == []  # LoRA A/B and prompts are no vectors


def test_without_their_own_lr_adapters_train_in_the_two_groups_of_old_runs(image_folders: Path, tmp_path: Path) -> None:
    run = metaframe.train({**config(image_folders, tmp_path / "run", adapters={"rank": 2}), "epochs": 1}, quiet=True)
    groups = _optimizer(run.run_dir)[0]["param_groups"]
    assert [(g["initial_lr"], g["weight_decay"]) for g in groups] == [(0.003, 0.05), (0.003, 0.0)]


def test_a_run_with_its_own_adapter_lr_resumes_bitwise(image_folders: Path, tmp_path: Path) -> None:
    """Stopped at step 7 (last checkpoint: step 6, in the cosine phase), resumed: the same weights and moments."""
    straight = metaframe.train({**config(image_folders, tmp_path / "straight", **OWN_LRS), "schedule": COSINE}, quiet=True)
    half = {**config(image_folders, tmp_path / "half", **OWN_LRS), "schedule": COSINE, "checkpoint_every": 3}

    class Stop(Exception):
        pass

    def stop(event: dict[str, Any]) -> None:
        if event.get("step") == 7:
            raise Stop

    with pytest.raises(Stop):
        metaframe.train(half, callback=stop, quiet=True)
    resumed = metaframe.train(half, resume=tmp_path / "half", quiet=True)
    assert resumed.steps == straight.steps == 10
    a, b = _saved(straight.run_dir), _saved(resumed.run_dir)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    (oa, _), (ob, _) = _optimizer(straight.run_dir), _optimizer(resumed.run_dir)
    assert [g["lr"] for g in oa["param_groups"]] == [g["lr"] for g in ob["param_groups"]]
    assert all(torch.equal(oa["state"][i]["exp_avg_sq"], ob["state"][i]["exp_avg_sq"]) for i in oa["state"])


def test_resume_applies_a_changed_adapter_lr_but_refuses_a_new_group(image_folders: Path, tmp_path: Path) -> None:
    half = config(image_folders, tmp_path / "half", **OWN_LRS)
    metaframe.train({**half, "epochs": 1}, quiet=True)
    changed = {**half, "encoder": {**half["encoder"], "adapters": {"rank": 2, "lr": 1e-4}}}
    with pytest.raises(ConfigError, match=r"encoder\.adapters\.lr: 0\.0002 → 0\.0001"):
        metaframe.train(changed, resume=tmp_path / "half", quiet=True)
    metaframe.train(changed, resume=tmp_path / "half", quiet=True, allow_config_change=True)
    groups = _optimizer(tmp_path / "half")[0]["param_groups"]
    assert [g["lr"] for g in groups] == [0.003, 0.003, 1e-4, 1e-4, 5e-4, 5e-4]  # constant schedule
    dropped = {**half, "encoder": {**half["encoder"], "adapters": {"rank": 2}}, "epochs": 3}
    with pytest.raises(ConfigError, match=r"6 parameter groups, this config builds 4 — encoder\.adapters\.lr"):
        metaframe.train(dropped, resume=tmp_path / "half", quiet=True, allow_config_change=True)


@pytest.mark.parametrize("part", ["adapters", "prompts"])
@pytest.mark.parametrize("lr", [0, -1e-3])
def test_an_own_lr_must_be_positive(image_folders: Path, tmp_path: Path, part: str, lr: float) -> None:
    with pytest.raises(ConfigError, match=rf"encoder\.{part}\.lr: {lr}"):
        metaframe.train(config(image_folders, tmp_path / "run", **{part: {"lr": lr}}), quiet=True)
