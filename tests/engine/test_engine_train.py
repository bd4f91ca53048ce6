"""Training: the run directory, frozen encoder, checkpoints, resume after a kill, two processes."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

import metaframe
from engine_helpers import run_module, tiny_config, toy_config, toy_fields, write_image_folders
from metaframe.engine.build import build_encoder, build_model, build_optimizer
from metaframe.engine.config import parse_config
from metaframe.engine.errors import EncoderMismatchError


def _final_weights(run_dir: Path) -> dict[str, torch.Tensor]:
    pointer = json.loads((run_dir / "checkpoints" / "last.json").read_text())
    return load_file(str(run_dir / "checkpoints" / pointer["dir"] / "model.safetensors"))


def _val_records(run_dir: Path) -> list[dict]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    return [{k: v for k, v in r.items() if k not in ("elapsed_s", "kind")} for r in records if r["kind"] == "val"]


def _assert_same_records(a: list[dict], b: list[dict], rel: float, abs: float) -> None:
    assert len(a) == len(b) and a
    for ra, rb in zip(a, b):
        assert ra.keys() == rb.keys()
        for key in ra:
            assert ra[key] == pytest.approx(rb[key], rel=rel, abs=abs), key


def test_train_writes_a_complete_run_and_learns(image_folders: Path, tmp_path: Path) -> None:
    config = parse_config(tiny_config(image_folders, tmp_path / "run", epochs=4))
    encoder = build_encoder(config.encoder)
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    result = metaframe.train(config, encoder=encoder, quiet=True)
    run = result.run_dir
    assert result.steps == 4 * 5  # 18 training images in batches of 4
    assert yaml.safe_load((run / "config.yaml").read_text())["epochs"] == 4
    assert json.loads((run / "labels.json").read_text()) == {"label": ["cat", "dog"]}
    assert (run / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records if r["kind"] == "val"] == [1, 2, 3, 4]
    assert result.final["val_accuracy"] >= 5 / 6  # separable classes, 6 validation images
    for which in ("best", "last"):
        ckpt = run / "checkpoints" / json.loads((run / "checkpoints" / f"{which}.json").read_text())["dir"]
        weights = load_file(str(ckpt / "model.safetensors"))
        assert weights and not any(k.startswith("encoder.") for k in weights)
        assert json.loads((ckpt / "encoder.json").read_text())["sha256"] == encoder.identity.sha256
        assert (ckpt / "optimizer.safetensors").is_file() and (ckpt / "rng.safetensors").is_file()
    # the frozen encoder did not move, and only two step directories are kept
    assert all(torch.equal(before[k], v) for k, v in encoder.state_dict().items())
    assert len(list((run / "checkpoints").glob("step-*"))) <= 2


def test_optimizer_never_sees_encoder_parameters(tmp_path: Path) -> None:
    config = parse_config(tiny_config("unused", tmp_path / "run"))
    encoder = build_encoder(config.encoder)
    model = build_model(config, encoder, {"label": ["a", "b"]}, {})
    optimizer = build_optimizer(config, model)
    optimised = {id(p) for group in optimizer.param_groups for p in group["params"]}
    assert optimised.isdisjoint({id(p) for p in encoder.parameters()})
    assert optimised == {id(p) for p in model.trainable_parameters()}


def test_load_run_restores_the_model_and_refuses_another_encoder(image_folders: Path, tmp_path: Path) -> None:
    config = parse_config(tiny_config(image_folders, tmp_path / "run", epochs=1))
    result = metaframe.train(config, quiet=True)
    model = metaframe.load_run(result.run_dir, checkpoint="last")
    image = metaframe.get_modality("image")
    batch = image.collate([image.read(p, size=8) for p in sorted((image_folders / "dog").glob("*.png"))[:3]])
    again = metaframe.load_run(result.run_dir, checkpoint="last")
    with torch.no_grad():
        assert torch.equal(model({"image": batch})["label"], again({"image": batch})["label"])
    assert model.run_info.classes("label") == ["cat", "dog"]
    other = metaframe.FrozenEncoder(32, 2, 2)  # same shape, different random weights
    with pytest.raises(EncoderMismatchError, match="sha256"):
        metaframe.load_run(result.run_dir, encoder=other)


def test_activation_checkpointing_keeps_gradients_to_the_tokenizer(tmp_path: Path) -> None:
    config = parse_config(tiny_config("unused", tmp_path / "run"))
    grads = []
    for checkpointing in (False, True):
        encoder = build_encoder(config.encoder)
        encoder.gradient_checkpointing = checkpointing
        torch.manual_seed(0)
        model = build_model(config, encoder, {"label": ["a", "b"]}, {})
        images = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(1))
        model({"image": images})["label"].sum().backward()
        grads.append(model.tokenizers["image"].proj.weight.grad.clone())
    assert grads[0].abs().sum() > 0
    torch.testing.assert_close(grads[0], grads[1])


def test_manifest_regression_and_evaluation(tmp_path: Path) -> None:
    """A CSV manifest with a path column and a real-valued target (mean brightness)."""
    from PIL import Image

    rows = ["file,brightness"]
    rng = torch.Generator().manual_seed(0)
    (tmp_path / "img").mkdir()
    for i in range(20):
        level = float(torch.rand(1, generator=rng))
        Image.new("RGB", (8, 8), (int(255 * level),) * 3).save(tmp_path / "img" / f"{i}.png")
        rows.append(f"img/{i}.png,{level:.4f}")
    (tmp_path / "data.csv").write_text("\n".join(rows) + "\n")
    config = tiny_config(
        tmp_path / "data.csv", tmp_path / "run", epochs=2,
        head={"kind": "regression", "target": "brightness"},
        data={"train": str(tmp_path / "data.csv"), "path_column": "file", "val_fraction": 0.25},
    )
    result = metaframe.train(config, quiet=True)
    assert "val_mae" in result.final and "val_accuracy" not in result.final
    report = metaframe.evaluate(result.run_dir, tmp_path / "data.csv", quiet=True)
    head = report["heads"]["brightness"]
    assert head["task"] == "regression" and head["count"] == 20
    assert head["mae"] >= 0 and head["mse"] <= 1.0
    assert json.loads((result.run_dir / "eval" / "report.json").read_text())["heads"]["brightness"]["mae"] == head["mae"]


def test_a_finished_run_directory_is_not_overwritten(image_folders: Path, tmp_path: Path) -> None:
    config = tiny_config(image_folders, tmp_path / "run", epochs=1)
    metaframe.train(config, quiet=True)
    with pytest.raises(metaframe.ConfigError, match="--resume"):
        metaframe.train(config, quiet=True)


def test_plugin_dataset_with_a_fitted_tokenizer(register_modality, tmp_path: Path) -> None:
    """A file the plugin reads as many samples; statistics fitted on the training split only."""
    import numpy as np

    def toy_dataset(path: Path) -> list[tuple[np.ndarray, str]]:
        values = np.load(path)
        return [(torch.from_numpy(row), "hi" if row.sum() > 0 else "lo") for row in values]

    register_modality("toy", **toy_fields(fittable=True), dataset=toy_dataset)
    rows = np.random.default_rng(0).normal(size=(24, 4)).astype(np.float32)
    rows[::2] += 3.0
    np.save(tmp_path / "table.npy", rows)
    config = toy_config(tmp_path / "table.npy", tmp_path / "run", epochs=2, batch_size=6,
                        data={"train": str(tmp_path / "table.npy"), "format": "dataset", "val_fraction": 0.25})
    result = metaframe.train(config, quiet=True)
    fitted = json.loads((result.last_checkpoint / "fitted_toy.json").read_text())
    assert fitted["seen"] == 18  # 24 rows minus the 6 validation rows
    assert json.loads((result.run_dir / "labels.json").read_text()) == {"label": ["hi", "lo"]}
    model = metaframe.load_run(result.run_dir, checkpoint="last")
    assert model.tokenizers["toy"].mean.tolist() == pytest.approx(fitted["mean"])
    with torch.no_grad():
        assert model({"toy": torch.zeros(1, 4)})["label"].shape == (1, 2)
    report = metaframe.evaluate(result.run_dir, quiet=True)  # the run's own validation split
    assert report["count"] == 6 and report["heads"]["label"]["classes"] == ["hi", "lo"]


def test_killed_run_resumes_to_the_same_result(image_folders: Path, tmp_path: Path) -> None:
    """SIGKILL at step 7 (last complete checkpoint: step 6); --resume must end where an uninterrupted run ends."""
    config = tiny_config(image_folders, tmp_path / "killed", checkpoint_every=3)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    script = textwrap.dedent(
        """
        import os, signal, sys
        import metaframe
        def stop(event):
            if event["step"] == 7:
                os.kill(os.getpid(), signal.SIGKILL)
        metaframe.train(sys.argv[1], callback=stop, quiet=True)
        """
    )
    killed = run_module(["python", "-c", script, str(path)])
    assert killed.returncode == -9, killed.stderr
    assert json.loads((tmp_path / "killed" / "checkpoints" / "last.json").read_text())["step"] == 6
    torch.set_num_threads(1)
    resumed = metaframe.train(path, resume=tmp_path / "killed", quiet=True)
    straight = metaframe.train({**config, "output_dir": str(tmp_path / "straight")}, quiet=True)
    assert resumed.steps == straight.steps == 15
    a, b = _final_weights(resumed.run_dir), _final_weights(straight.run_dir)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=1e-6)
    _assert_same_records(_val_records(resumed.run_dir), _val_records(straight.run_dir), rel=1e-6, abs=1e-7)


def test_two_processes_match_one(tmp_path: Path) -> None:
    """torchrun with 2 CPU processes (gloo): each takes half of every global batch."""
    data = write_image_folders(tmp_path / "images")
    config = tiny_config(data, tmp_path / "ddp", epochs=2)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    ddp = run_module(["torchrun", "--standalone", "--nproc-per-node", "2", "-m", "metaframe", "train", str(path), "-q"])
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    torch.set_num_threads(1)
    single = metaframe.train({**config, "output_dir": str(tmp_path / "single")}, quiet=True)
    a, b = _final_weights(tmp_path / "ddp"), _final_weights(single.run_dir)
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=1e-5)
    _assert_same_records(_val_records(tmp_path / "ddp"), _val_records(single.run_dir), rel=1e-4, abs=1e-5)


def test_resume_refuses_another_encoder_or_model(image_folders: Path, tmp_path: Path) -> None:
    config = tiny_config(image_folders, tmp_path / "run", epochs=1)
    metaframe.train(config, quiet=True)
    other_encoder = {**config, "encoder": {**config["encoder"], "seed": 1}, "epochs": 2}
    with pytest.raises(EncoderMismatchError, match="trained with encoder"):
        metaframe.train(other_encoder, resume=tmp_path / "run", quiet=True)
    other_model = {**config, "tokenizer": {"patch_size": 2, "image_size": 8}, "epochs": 2}
    with pytest.raises(metaframe.MetaframeError, match="does not fit the model"):
        metaframe.train(other_model, resume=tmp_path / "run", quiet=True)


def test_joint_model_from_a_jsonl_manifest(image_folders: Path, tmp_path: Path) -> None:
    """Two modalities in one sequence: an image path column and a value column (a list per row)."""
    from metaframe.testing.temporary import temporary_modality

    with temporary_modality("toy", **toy_fields()):  # beside the installed image plugin
        _joint_model(image_folders, tmp_path)


def _joint_model(image_folders: Path, tmp_path: Path) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    rows = []
    for cls in ("cat", "dog"):
        for path in sorted((image_folders / cls).glob("*.png")):
            signal = (rng.normal(size=4) + (2.0 if cls == "dog" else 0.0)).round(3).tolist()
            rows.append({"picture": str(path.relative_to(tmp_path)), "signal": signal, "label": cls})
    manifest = tmp_path / "joint.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = {
        "modalities": {
            "image": {"tokenizer": {"patch_size": 4, "image_size": 8}, "reader": {"size": 8}, "column": "picture"},
            "toy": {"column": "signal"},
        },
        "encoder": {"embed_dim": 32, "depth": 2, "num_heads": 2},
        "data": {"train": str(manifest)}, "epochs": 1, "batch_size": 4, "device": "cpu",
        "output_dir": str(tmp_path / "run"),
    }
    result = metaframe.train(config, quiet=True)
    model = metaframe.load_run(result.run_dir, checkpoint="last")
    assert model.modalities == ["image", "toy"]
    weights = _final_weights(result.run_dir)
    assert any(k.startswith("tokenizers.image.") for k in weights)
    assert any(k.startswith("tokenizers.toy.") for k in weights)
    report = metaframe.evaluate(result.run_dir, manifest, quiet=True)
    assert report["count"] == 24


def test_load_run_does_not_import_the_trainer() -> None:
    script = "import sys, metaframe; metaframe.load_run; print('metaframe.engine.trainer' in sys.modules)"
    out = run_module(["python", "-c", script])
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_every_entry_point_defaults_to_the_auto_device() -> None:
    import inspect

    for fn in (metaframe.load_run, metaframe.evaluate, metaframe.encode):
        assert inspect.signature(fn).parameters["device"].default == "auto", fn.__name__
    assert parse_config(tiny_config("unused", Path("run"), device="auto")).device == "auto"
