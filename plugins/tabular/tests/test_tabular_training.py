"""The tabular plugin through `metaframe.train`: its dataset reader and its fitted tokenizer."""

from __future__ import annotations

import json
from pathlib import Path

import torch

import metaframe


def test_tabular_dataset_trains_with_statistics_of_the_training_split(tmp_path: Path) -> None:
    """A file the plugin reads as many samples (tabular CSV); statistics fitted on the training split only."""
    lines = ["size,colour,label"] + [f"{i % 7},{'red' if i % 2 else 'blue'},{'odd' if i % 2 else 'even'}" for i in range(24)]
    (tmp_path / "table.csv").write_text("\n".join(lines) + "\n")
    config = {
        "modality": "tabular",
        "encoder": {"embed_dim": 32, "depth": 2, "num_heads": 2},
        "data": {"train": str(tmp_path / "table.csv"), "format": "dataset", "dataset_options": {"target": "label"},
                 "val_fraction": 0.25},
        "epochs": 2, "batch_size": 6, "device": "cpu", "output_dir": str(tmp_path / "run"),
    }
    result = metaframe.train(config, quiet=True)
    fitted = json.loads((result.last_checkpoint / "fitted_tabular.json").read_text())
    assert fitted["rows_seen"] == 18  # 24 rows minus the 6 validation rows
    assert json.loads((result.run_dir / "labels.json").read_text()) == {"label": ["even", "odd"]}
    model = metaframe.load_run(result.run_dir, checkpoint="last")
    tabular = metaframe.get_modality("tabular")
    batch = tabular.collate([tabular.read({"size": 3.0, "colour": "red"})])
    with torch.no_grad():
        assert model({"tabular": batch})["label"].shape == (1, 2)
    report = metaframe.evaluate(result.run_dir, quiet=True)  # the run's own validation split
    assert report["count"] == 6 and report["heads"]["label"]["classes"] == ["even", "odd"]
