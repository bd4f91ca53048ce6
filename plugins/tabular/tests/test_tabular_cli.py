"""`metaframe train` / `evaluate` on a CSV through the tabular plugin's dataset: fit on the train split, reload."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys


def test_train_fits_on_the_train_split_and_evaluate_reloads_the_fitted_state(tmp_path):
    rng = random.Random(0)
    lines = ["age,job,hours,income"]
    for _ in range(40):
        age = rng.randint(20, 60)
        lines.append(f"{age},{rng.choice(['clerk', 'nurse', '?'])},{rng.choice(['20', '40', ''])},{'high' if age > 40 else 'low'}")
    (tmp_path / "adult.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "test.csv").write_text("age,job,hours,income\n30,pilot,40,low\n55,nurse,,high\n")
    config = {
        "modality": "tabular",
        "encoder": {"embed_dim": 16, "depth": 1, "num_heads": 2},
        "head": {"kind": "classification"},
        "data": {"train": "adult.csv", "format": "dataset", "val_fraction": 0.25,
                 "dataset_options": {"target": "income", "na_values": ["?"]}},
        "epochs": 1, "batch_size": 10, "device": "cpu", "output_dir": "run",
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    exe = [sys.executable, "-m", "metaframe"]
    train = subprocess.run([*exe, "train", "config.json", "-q"], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    assert train.returncode == 0, train.stderr
    [state_file] = list((tmp_path / "run" / "checkpoints").glob("step-*/fitted_tabular.json"))
    state = json.loads(state_file.read_text())
    assert state["rows_seen"] == 30  # the training split only, not the validation rows
    assert [c["name"] for c in state["columns"]] == ["age", "job", "hours"]
    assert state["columns"][1]["categories"] == ["clerk", "nurse"]  # "?" is missing, not a category
    evaluate = subprocess.run(
        [*exe, "evaluate", "run", "--data", "test.csv", "--out", "report", "-q"],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300,
    )
    assert evaluate.returncode == 0, evaluate.stderr
    assert "2 samples" in evaluate.stdout
