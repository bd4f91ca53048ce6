"""Forecasting: the registered head, RevIN undone, windows from a file, the CLI listing."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

import metaframe
from metaframe_registry import ReadError

D = 32


@pytest.fixture(scope="module")
def encoder():
    return metaframe.FrozenEncoder(embed_dim=D, depth=2, num_heads=2)


def _model(encoder, pooling: str, denormalize: bool = True, **tok):
    ts = metaframe.get_modality("time_series")
    torch.manual_seed(0)
    tokenizer = ts.build_tokenizer(embed_dim=D, **{"mode": "patch", "in_channels": 3, "patch_len": 4, "stride": 2, **tok})
    head = metaframe.build_head("forecast", embed_dim=D, horizon=5, channels=3, pooling=pooling, denormalize=denormalize)
    return ts, metaframe.MetaModel(encoder, {"time_series": tokenizer}, {"forecast": head}).eval()


@pytest.mark.parametrize("pooling", ["mean", "cls", "channel"])
def test_forecast_shape_and_revin_undone_in_data_units(encoder, pooling):
    ts, model = _model(encoder, pooling, affine=True)
    x = torch.randn(16, 3)
    a, b = torch.tensor([10.0, 0.5, 3.0]), torch.tensor([100.0, -2.0, 0.0])
    with torch.no_grad():
        y = model({"time_series": ts.collate([ts.read(x), ts.read(x[:12])])})["forecast"]
        y_scaled = model({"time_series": ts.collate([ts.read(x * a + b), ts.read(x[:12])])})["forecast"]
    assert y.shape == (2, 5, 3)
    # RevIN makes the normalised forecast blind to scale and shift; the head puts them back.
    torch.testing.assert_close(y_scaled[0], y[0] * a + b, atol=1e-3, rtol=1e-4)
    torch.testing.assert_close(y_scaled[1], y[1])


def test_denormalize_false_keeps_the_normalised_scale(encoder):
    ts, model = _model(encoder, "mean", denormalize=False)
    x = torch.randn(16, 3)
    with torch.no_grad():
        y = model({"time_series": ts.collate([ts.read(x)])})["forecast"]
        y_scaled = model({"time_series": ts.collate([ts.read(x * 7 + 3)])})["forecast"]
    torch.testing.assert_close(y_scaled, y, atol=1e-4, rtol=1e-4)


def test_channel_pooling_needs_patch_tokens_and_channels_must_match(encoder):
    ts = metaframe.get_modality("time_series")
    step = metaframe.MetaModel(
        encoder,
        {"time_series": ts.build_tokenizer(embed_dim=D, in_channels=3)},
        {"f": metaframe.build_head("forecast", embed_dim=D, horizon=2, channels=3, pooling="channel")},
    )
    with pytest.raises(ValueError, match="pooling='channel' needs"):
        step({"time_series": torch.randn(1, 8, 3)})
    _, model = _model(encoder, "mean")
    model.heads["forecast"] = metaframe.build_head("forecast", embed_dim=D, horizon=2, channels=4)
    with pytest.raises(ValueError, match="normalised 3 channels but this head forecasts channels=4"):
        model({"time_series": torch.randn(1, 8, 3)})


def test_forecast_training_step_updates_tokenizer_and_head(encoder):
    ts, model = _model(encoder, "channel")
    model.train()
    batch = ts.collate([ts.read(np.random.randn(16, 3)), ts.read(np.random.randn(10, 3))])
    loss = torch.nn.functional.mse_loss(model({"time_series": batch})["forecast"], torch.randn(2, 5, 3))
    loss.backward()
    assert model.tokenizers["time_series"].proj.weight.grad.abs().sum() > 0
    assert model.heads["forecast"].linear.weight.grad.abs().sum() > 0


def test_dataset_windows_a_file_into_input_target_pairs(tmp_path):
    steps = 30
    table = pd.DataFrame(
        {"date": pd.date_range("2016-07-01", periods=steps, freq="h"), "a": np.arange(steps), "b": -np.arange(steps)}
    )
    table.to_csv(tmp_path / "etth.csv", index=False)
    ts = metaframe.get_modality("time_series")
    pairs = ts.dataset(tmp_path / "etth.csv", input_length=8, horizon=4, stride=3)
    assert len(pairs) == (30 - 12) // 3 + 1 == 7
    sample, target = pairs[2]
    assert sample.values[:, 0].tolist() == list(range(6, 14))
    assert sample.time_features.shape == (8, 4)
    assert target.shape == (4, 2) and target[:, 1].tolist() == [-14, -15, -16, -17]
    last_sample, last_target = pairs[-1]
    assert last_target[-1, 0].item() == 18 + 8 + 4 - 1  # the last window ends inside the series
    only_b = ts.dataset(tmp_path / "etth.csv", input_length=8, horizon=4, columns=["b"])
    assert only_b[0][0].values.shape == (8, 1) and only_b[0][1].shape == (4, 1)
    batch = ts.collate([pairs[i][0] for i in range(3)])
    assert batch.values.shape == (3, 8, 2)
    with pytest.raises(ReadError, match=r"etth\.csv: series has 30 steps, fewer than input_length \+ horizon = 112"):
        ts.dataset(tmp_path / "etth.csv", input_length=96, horizon=16)
    with pytest.raises(ValueError, match="stride must be >= 1"):
        ts.dataset(tmp_path / "etth.csv", input_length=8, horizon=4, stride=0)


def test_cli_lists_the_modality_with_its_official_setup():
    proc = subprocess.run(
        [sys.executable, "-m", "metaframe", "list-modalities", "--format", "json"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    rows = {row["name"]: row for row in json.loads(proc.stdout)}
    row = rows["time_series"]
    assert row["status"] == "ok" and row["distribution"] == "metaframe-time-series"
    assert "ETTh1" in row["info"]["official_setup"] and ".parquet" in row["extensions"]
