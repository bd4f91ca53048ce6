"""Fitting tokenizers: one streamed pass over the training split, reading only the fitted modality."""

from __future__ import annotations

import json
from pathlib import Path

import metaframe
from engine_helpers import READS, toy_config, toy_fields, write_toy_manifest


def test_fit_sees_each_training_example_once_and_reads_only_its_modality(register_modality, tmp_path: Path) -> None:
    register_modality("toy", **toy_fields(fittable=True, name="toy"))
    register_modality("plain", **toy_fields(fittable=False, name="plain"))
    manifest = write_toy_manifest(tmp_path / "data", rows=12, columns=("toy", "plain"))
    config = toy_config(manifest, tmp_path / "run", modality=None)
    del config["modality"]
    config["modalities"] = {"toy": {}, "plain": {}}
    config["epochs"], config["max_steps"] = 1, 1  # one step: 3 reads per modality after fitting
    READS.clear()
    result = metaframe.train(config, quiet=True)
    fitted = json.loads((result.last_checkpoint / "fitted_toy.json").read_text())
    assert fitted["seen"] == 9 and fitted["calls"] == 1  # 12 rows minus 3 validation rows, one fit
    assert not (result.last_checkpoint / "fitted_plain.json").exists()
    # fitting read the 9 training toy files; training and validation read both modalities alike
    assert READS["toy"] - READS["plain"] == 9


def test_two_fittable_modalities_are_each_fitted_once(register_modality, tmp_path: Path) -> None:
    register_modality("toy", **toy_fields(fittable=True, name="toy"))
    register_modality("other", **toy_fields(fittable=True, name="other"))
    manifest = write_toy_manifest(tmp_path / "data", rows=8, columns=("toy", "other"))
    config = toy_config(manifest, tmp_path / "run", data={"train": str(manifest), "val_fraction": 0})
    del config["modality"]
    config["modalities"] = {"toy": {}, "other": {}}
    config["max_steps"] = 1
    READS.clear()
    result = metaframe.train(config, quiet=True)
    for name in ("toy", "other"):
        fitted = json.loads((result.last_checkpoint / f"fitted_{name}.json").read_text())
        assert fitted == {**fitted, "seen": 8, "calls": 1}
    assert READS == {"toy": 8 + 3, "other": 8 + 3}  # one fitting pass each, then one batch of 3
    model = metaframe.load_run(result.run_dir, checkpoint="last")
    assert model.tokenizers["toy"].seen == 8
