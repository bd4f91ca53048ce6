"""Multi-label heads (BCE, mAP / F1), label smoothing and class weights."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import metaframe
from engine_helpers import tiny_config
from metaframe.engine.build import build_encoder, build_model
from metaframe.engine.config import parse_config
from metaframe.engine.data import build_label_maps, build_splits, encode_target
from metaframe.engine.metrics import class_weights, head_loss_sum
from metaframe.engine.multilabel import LabelSet, average_precision, multilabel_metrics, parse_label_set
from metaframe_registry import ConfigError


def test_average_precision_of_a_hand_computed_case() -> None:
    # ranked: 0.9 (pos), 0.8 (neg), 0.7 (pos), 0.6 (neg): precision at the positives 1/1 and 2/3
    assert average_precision(np.array([0.9, 0.8, 0.7, 0.6]), np.array([1, 0, 1, 0])) == pytest.approx(5 / 6)
    # the only positive ranked third: 1/3
    assert average_precision(np.array([0.9, 0.2, 0.3, 0.1]), np.array([0, 1, 0, 0])) == pytest.approx(1 / 3)
    # a tie between a positive and a negative counts the whole tie: precision 1/2
    assert average_precision(np.array([0.5, 0.5]), np.array([1, 0])) == pytest.approx(0.5)
    assert np.isnan(average_precision(np.array([0.1, 0.2]), np.array([0, 0])))


def test_multilabel_metrics_of_a_tiny_known_case() -> None:
    scores = np.array([[0.9, 0.9, 0.1], [0.8, 0.2, 0.1], [0.7, 0.3, 0.2], [0.6, 0.1, 0.3]])
    targets = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 0]])
    res = multilabel_metrics(scores, targets)
    # class 0: AP 5/6; class 1: its positive (0.2) ranked 3rd of 4 -> 1/3; class 2 has no positive (left out of mAP)
    assert res["per_class_ap"] == [pytest.approx(5 / 6), pytest.approx(1 / 3), None]
    assert res["mAP"] == pytest.approx((5 / 6 + 1 / 3) / 2)
    # at 0.5: class 0 predicts all four (tp 2, fp 2) -> F1 4/6; class 1 predicts sample 0 only (tp 0) -> 0
    assert res["per_class_f1"] == [pytest.approx(2 / 3), 0.0, 0.0]
    # micro: tp 2, fp 3, fn 1 -> 4 / 8; macro over the classes present in targets or predictions (0 and 1)
    assert res["micro_f1"] == pytest.approx(0.5)
    assert res["macro_f1"] == pytest.approx(1 / 3)


def test_average_precision_agrees_with_scikit_learn() -> None:
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    for _ in range(5):
        y = rng.integers(0, 2, 30)
        y[0] = 1
        s = np.round(rng.random(30), 1)  # rounded: many ties
        assert average_precision(s, y) == pytest.approx(sklearn_metrics.average_precision_score(y, s))


def test_label_sets_are_read_from_lists_json_and_semicolons() -> None:
    assert parse_label_set("dog;cat", "m.csv:2", "tags") == ("cat", "dog")
    assert parse_label_set('["dog", "cat"]', "m.csv:2", "tags") == ("cat", "dog")
    assert parse_label_set(["b", "a", "b"], "x", "tags") == ("a", "b")
    assert parse_label_set("", "x", "tags") == ()
    with pytest.raises(ConfigError, match=r"m.csv:3: target 'tags'.*not a JSON list"):
        parse_label_set('["dog"', "m.csv:3", "tags")
    assert encode_target(LabelSet(("cat",)), ["cat", "dog", "eel"], "x", "tags") == [1, 0, 0]
    with pytest.raises(ConfigError, match="label 'fox', which the training data does not contain"):
        encode_target(LabelSet(("fox",)), ["cat", "dog"], "x", "tags")


def _write_colour_manifest(root: Path, n: int = 16) -> Path:
    """8x8 images whose red / green channels are bright exactly when they carry that tag."""
    from PIL import Image

    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        tags = [t for t, on in (("red", i % 2), ("green", (i // 2) % 2)) if on]
        pixels = rng.integers(0, 60, size=(8, 8, 3))
        pixels[..., 0] += 180 if "red" in tags else 0
        pixels[..., 1] += 180 if "green" in tags else 0
        Image.fromarray(pixels.astype(np.uint8)).save(root / f"{i:02d}.png")
        rows.append({"path": f"{i:02d}.png", "tags": ";".join(tags)})
    path = root / "train.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["path", "tags"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_a_multilabel_run_trains_validates_and_evaluates(tmp_path: Path) -> None:
    manifest = _write_colour_manifest(tmp_path / "colours")
    raw = tiny_config(manifest, tmp_path / "run", epochs=2, head={"kind": "classification", "target": "tags", "task": "multilabel"})
    config = parse_config(raw)
    train, _ = build_splits(config)
    assert build_label_maps(config, train) == {"tags": ["green", "red"]}
    result = metaframe.train(config, quiet=True)
    for key in ("val_mAP", "val_micro_f1", "val_macro_f1"):
        assert 0.0 <= result.final[key] <= 1.0, key
    report = metaframe.evaluate(result.run_dir, quiet=True)
    head = report["heads"]["tags"]
    assert head["task"] == "multilabel" and head["classes"] == ["green", "red"]
    assert len(head["per_class_ap"]) == 2 and head["count"] == 4
    assert json.loads(Path(report["report_path"]).read_text())["heads"]["tags"]["mAP"] == pytest.approx(head["mAP"])


def test_multilabel_loss_is_bce_with_smoothing_and_weights() -> None:
    logits = torch.tensor([[2.0, -1.0], [0.5, 0.0]])
    target = torch.tensor([[1, 0], [1, 1]])
    plain = F.binary_cross_entropy_with_logits(logits, target.float(), reduction="none").mean(1).sum()
    assert head_loss_sum("multilabel", logits, target) == pytest.approx(float(plain))
    soft = target.float() * 0.8 + 0.1
    w = torch.tensor([2.0, 0.5])
    expected = (F.binary_cross_entropy_with_logits(logits, soft, reduction="none") * w).mean(1).sum()
    got = head_loss_sum("multilabel", logits, target, label_smoothing=0.2, weight=w)
    assert got == pytest.approx(float(expected))


def test_classification_loss_takes_smoothing_weights_and_soft_targets() -> None:
    logits = torch.tensor([[2.0, -1.0, 0.0], [0.5, 0.0, 1.0]])
    target = torch.tensor([0, 2])
    w = torch.tensor([1.0, 2.0, 3.0])
    expected = F.cross_entropy(logits, target, weight=w, label_smoothing=0.1, reduction="sum")
    assert head_loss_sum("classification", logits, target, 0.1, w) == pytest.approx(float(expected))
    one_hot = F.one_hot(target, 3).float()
    assert head_loss_sum("classification", logits, one_hot) == pytest.approx(float(head_loss_sum("classification", logits, target)))


def _config(tmp_path: Path, **head: object):  # type: ignore[no-untyped-def]
    return parse_config(tiny_config(tmp_path, tmp_path / "run", head={"kind": "classification", **head}))


def test_class_weights_from_a_list_a_mapping_or_balanced(tmp_path: Path) -> None:
    classes = ["cat", "dog", "eel"]
    cfg = _config(tmp_path, class_weights=[1, 2, 3])
    assert class_weights("label", cfg.heads["label"], classes) == [1.0, 2.0, 3.0]
    cfg = _config(tmp_path, class_weights={"dog": 4})
    assert class_weights("label", cfg.heads["label"], classes) == [1.0, 4.0, 1.0]
    cfg = _config(tmp_path, class_weights="balanced")
    from metaframe.engine.data import Example

    train = [Example({}, {"label": c}) for c in ["cat", "cat", "cat", "dog", "eel", "eel"]]
    # N / (C * count): 6 / 9, 6 / 3, 6 / 6
    assert class_weights("label", cfg.heads["label"], classes, train) == pytest.approx([2 / 3, 2.0, 1.0])


def test_bad_class_weights_and_smoothing_are_config_errors_naming_the_field(image_folders: Path, tmp_path: Path) -> None:
    def build(head: dict) -> None:
        cfg = parse_config(tiny_config(image_folders, tmp_path / "run", head=head))
        build_model(cfg, build_encoder(cfg.encoder), {"label": ["cat", "dog"]}, {})

    with pytest.raises(ConfigError, match=r"^heads\.label\.class_weights: 3 weights — expected one per class .*2 in label order \(cat, dog\)"):
        build({"kind": "classification", "class_weights": [1, 2, 3]})
    with pytest.raises(ConfigError, match=r"^heads\.label\.class_weights: 'fox' — not a class of target 'label'"):
        build({"kind": "classification", "class_weights": {"fox": 2}})
    with pytest.raises(ConfigError, match=r"^heads\.label\.label_smoothing: 0\.1 — needs a classification or multilabel head"):
        build({"kind": "regression", "label_smoothing": 0.1})
    with pytest.raises(ConfigError, match=r"heads\.label\.label_smoothing: 1\.5 — must be < 1"):
        parse_config(tiny_config(image_folders, tmp_path / "run", head={"label_smoothing": 1.5}))


def test_class_weights_change_the_training_loss(image_folders: Path, tmp_path: Path) -> None:
    losses = []
    for weights in (None, [1.0, 5.0]):
        raw = tiny_config(image_folders, tmp_path / f"run{len(losses)}", epochs=1, head={"kind": "classification", "class_weights": weights})
        result = metaframe.train(parse_config(raw), quiet=True)
        losses.append(result.final["train_loss"])
    assert losses[0] != pytest.approx(losses[1])


def test_two_processes_report_the_multilabel_metrics_of_one(tmp_path: Path) -> None:
    """torchrun, 2 CPU processes: per-sample scores are gathered, so mAP is the whole validation set's."""
    import yaml

    from engine_helpers import run_module

    manifest = _write_colour_manifest(tmp_path / "colours")
    head = {"kind": "classification", "target": "tags", "task": "multilabel", "class_weights": "balanced", "label_smoothing": 0.1}
    config = tiny_config(manifest, tmp_path / "ddp", epochs=2, head=head)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    ddp = run_module(["torchrun", "--standalone", "--nproc-per-node", "2", "-m", "metaframe", "train", str(path), "-q"])
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    torch.set_num_threads(1)
    single = metaframe.train({**config, "output_dir": str(tmp_path / "single")}, quiet=True)

    def val(run: Path) -> list[dict]:
        records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        return [r for r in records if r["kind"] == "val"]

    a, b = val(tmp_path / "ddp"), val(single.run_dir)
    assert len(a) == len(b) == 2
    for ra, rb in zip(a, b):
        for key in ("val_loss", "val_mAP", "val_micro_f1", "val_macro_f1"):
            assert ra[key] == pytest.approx(rb[key], rel=1e-4, abs=1e-5), key
