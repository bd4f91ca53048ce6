"""Hostile IMU recordings: timestamp gaps and rates that would resample to gigabytes are refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import metaframe
from metaframe_registry import ReadError

COLUMNS = ["acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"]


@pytest.fixture()
def imu():
    return metaframe.get_modality("imu")


def _write(path, times):
    table = pd.DataFrame(np.random.default_rng(0).normal(size=(len(times), 6)), columns=COLUMNS)
    table.insert(0, "timestamp", times)
    table.to_csv(path, index=False)
    return path


def test_timestamp_gap_of_2e6_seconds_is_refused_before_resampling(imu, tmp_path):
    times = np.concatenate([np.arange(100) / 50, 2e6 + np.arange(100) / 50])
    path = _write(tmp_path / "gap.csv", times)
    with pytest.raises(ReadError, match="max_seconds=86400") as info:
        imu.read(path)
    assert str(path) in str(info.value) and "before row 100" in str(info.value)


def test_huge_rate_is_refused(imu, tmp_path):
    path = _write(tmp_path / "ok.csv", np.arange(100) / 50)
    assert imu.read(path).length == 100
    with pytest.raises(ReadError, match="per row"):
        imu.read(path, rate=1e7)


def test_max_seconds_is_an_option(imu, tmp_path):
    path = _write(tmp_path / "ten.csv", np.arange(501) / 50)  # 10 s
    assert imu.read(path, max_seconds=10).length == 501
    with pytest.raises(ReadError, match="max_seconds=5"):
        imu.read(path, max_seconds=5)


def test_wrong_channel_count_names_the_files(imu, tmp_path):
    path = _write(tmp_path / "six.csv", np.arange(200) / 50)
    batch = imu.collate([imu.read(path)])
    tokenizer = imu.build_tokenizer(embed_dim=16, in_channels=9)
    with pytest.raises(ValueError, match=r"6 channels.*in_channels=9.*six\.csv"):
        tokenizer(batch)


def test_values_whose_square_overflows_float32_are_a_read_error(imu, tmp_path):
    path = _write(tmp_path / "loud.csv", np.arange(100) / 50)
    table = pd.read_csv(path)
    table.loc[3, "gyro_y"] = 1e30
    table.to_csv(path, index=False)
    with pytest.raises(ReadError, match=r"loud\.csv: .*column 'gyro_y' at step 3") as info:
        imu.read(path)
    assert "float32" in str(info.value)
