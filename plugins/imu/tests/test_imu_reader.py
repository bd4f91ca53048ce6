"""IMU reading through the registry: columns, units, resampling, gravity, optional groups, bad input."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

import metaframe
from metaframe_registry import ReadError

AXES = "xyz"


@pytest.fixture()
def imu():
    return metaframe.get_modality("imu")


def _recording(times: np.ndarray, mag: bool = False, **columns: np.ndarray) -> pd.DataFrame:
    table = pd.DataFrame({"timestamp": times})
    groups = ["acc", "gyro"] + (["mag"] if mag else [])
    for g in groups:
        for i, axis in enumerate(AXES):
            table[f"{g}_{axis}"] = columns.get(f"{g}_{axis}", times * (i + 1) + len(g))
    return table


def test_irregular_timestamps_are_resampled_linearly_onto_the_rate(imu, tmp_path):
    rng = np.random.default_rng(0)
    times = np.sort(np.concatenate([[0.0, 2.0], rng.uniform(0.0, 2.0, 57)]))
    _recording(times).to_csv(tmp_path / "rec.csv", index=False)
    sample = imu.read(tmp_path / "rec.csv", rate=25)
    assert sample.rate == 25 and sample.values.shape == (6, 51)  # 0 .. 2 s at 25 Hz
    assert sample.channels == ("acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z")
    grid = torch.arange(51, dtype=torch.float64) / 25
    # a linear signal is reproduced exactly by linear interpolation: acc_y = 2 t + 3
    torch.testing.assert_close(sample.values[1].double(), 2 * grid + 3, atol=1e-5, rtol=0)
    native = imu.read(tmp_path / "rec.csv", rate=None)
    assert native.rate == pytest.approx(1 / np.median(np.diff(times)))


def test_units_convert_to_si_and_timestamps_in_ms_or_dates(imu, tmp_path):
    times = np.arange(10) * 20.0  # ms
    table = _recording(times, acc_z=np.ones(10), gyro_x=np.full(10, 180.0))
    table.to_csv(tmp_path / "ms.csv", index=False)
    s = imu.read(tmp_path / "ms.csv", timestamp_unit="ms", acc_unit="g", gyro_unit="deg/s", rate=None)
    assert s.rate == pytest.approx(50.0) and s.length == 10
    torch.testing.assert_close(s.values[2], torch.full((10,), 9.80665))
    torch.testing.assert_close(s.values[3], torch.full((10,), math.pi))
    table["timestamp"] = pd.date_range("2024-05-01 12:00", periods=10, freq="20ms").astype(str)
    table.to_csv(tmp_path / "dates.csv", index=False)
    assert imu.read(tmp_path / "dates.csv", rate=None).rate == pytest.approx(50.0)


def test_missing_magnetometer_is_an_error_naming_columns_unless_optional(imu, tmp_path):
    _recording(np.arange(40) / 50).to_csv(tmp_path / "nomag.csv", index=False)
    with pytest.raises(ReadError, match=r"nomag\.csv: missing mag column\(s\) 'mag_x', 'mag_y', 'mag_z'.*optional_groups"):
        imu.read(tmp_path / "nomag.csv", groups=["acc", "gyro", "mag"])
    sample = imu.read(tmp_path / "nomag.csv", groups=["acc", "gyro", "mag"], optional_groups=["mag"])
    assert sample.values.shape == (9, 40)
    assert sample.present.tolist() == [True] * 6 + [False] * 3
    assert bool((sample.values[6:] == 0).all())
    _recording(np.arange(40) / 50, mag=True).to_csv(tmp_path / "mag.csv", index=False)
    full = imu.read(tmp_path / "mag.csv", groups=["acc", "gyro", "mag"], optional_groups=["mag"])
    assert bool(full.present.all()) and full.values[6:].abs().sum() > 0
    renamed = _recording(np.arange(40) / 50).rename(columns={"gyro_z": "gz"})
    with pytest.raises(ReadError, match=r"missing gyro column\(s\) 'gyro_z'"):
        imu.read(renamed)
    assert imu.read(renamed, gyro_columns=["gyro_x", "gyro_y", "gz"]).values.shape == (6, 40)


def test_gravity_removal_by_mean_and_highpass(imu, tmp_path):
    rate, t = 50.0, np.arange(500) / 50.0
    wave = np.sin(2 * np.pi * 5 * t)
    _recording(t, acc_z=9.80665 + wave, gyro_x=np.full(500, 0.2)).to_csv(tmp_path / "g.csv", index=False)
    kept = imu.read(tmp_path / "g.csv", rate=rate)
    assert kept.values[2].mean().item() == pytest.approx(9.80665, abs=1e-3)
    mean = imu.read(tmp_path / "g.csv", rate=rate, gravity="mean")
    assert abs(mean.values[2].mean().item()) < 1e-4
    high = imu.read(tmp_path / "g.csv", rate=rate, gravity="highpass")
    middle = slice(150, 350)  # away from the filter's edge transients
    assert abs(high.values[2, middle].mean().item()) < 0.05
    np.testing.assert_allclose(high.values[2, middle].numpy(), wave[middle], atol=0.08)  # 5 Hz passes
    torch.testing.assert_close(high.values[3], kept.values[3])  # gyroscope untouched
    with pytest.raises(ReadError, match="gravity_cutoff_hz=30.0 must be between 0 and the Nyquist frequency 25 Hz"):
        imu.read(tmp_path / "g.csv", rate=rate, gravity="highpass", gravity_cutoff_hz=30.0)


def test_npy_windows_channels_first(imu, tmp_path):
    np.save(tmp_path / "w.npy", np.random.randn(6, 32).astype(np.float32))
    s = imu.read(tmp_path / "w.npy")
    assert s.values.shape == (6, 32) and s.rate == 50.0
    np.save(tmp_path / "tc.npy", np.random.randn(32, 6))
    assert imu.read(tmp_path / "tc.npy", channels_first=False).values.shape == (6, 32)
    with pytest.raises(ReadError, match=r"tc\.npy: has 32 channels but groups acc \(3\), gyro \(3\) need 6"):
        imu.read(tmp_path / "tc.npy")
    assert imu.read(np.zeros((6, 20)), groups=["acc", "gyro", "mag"], optional_groups=["mag"]).present.sum() == 6


@pytest.mark.parametrize(
    ("name", "content", "options", "problem"),
    [
        ("empty.csv", "", {}, "file is empty"),
        ("zero.csv", "acc_x,acc_y,acc_z,gyro_x,gyro_y,gyro_z\n1,2,3,4,5,6\n", {"timestamp_column": None, "rate": 0}, "sample rate must be a positive"),
        ("same.csv", "timestamp,acc_x,acc_y,acc_z,gyro_x,gyro_y,gyro_z\n1,1,2,3,4,5,6\n1,1,2,3,4,5,6\n", {}, "not strictly increasing: row 1"),
        ("nan.csv", "timestamp,acc_x,acc_y,acc_z,gyro_x,gyro_y,gyro_z\n0,1,2,3,4,5,6\n0.02,1,,3,4,5,6\n", {}, "missing \\(NaN\\).*'acc_y' at step 1"),
        ("inf.csv", "timestamp,acc_x,acc_y,acc_z,gyro_x,gyro_y,gyro_z\n0,1,2,3,4,5,inf\n", {}, "infinite value"),
        ("nostamp.csv", "t,acc_x,acc_y,acc_z,gyro_x,gyro_y,gyro_z\n0,1,2,3,4,5,6\n", {}, "missing timestamp column 'timestamp'"),
    ],
)
def test_bad_input_names_the_file_and_the_problem(imu, tmp_path, name, content, options, problem):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ReadError, match=problem) as info:
        imu.read(path, **options)
    assert str(info.value).startswith(f"{path}: ")


def test_nan_policy_fills_before_resampling_and_counts(imu, tmp_path):
    table = _recording(np.arange(5) / 50.0, acc_x=np.array([1.0, np.nan, 3.0, np.nan, 5.0]))
    table.to_csv(tmp_path / "gaps.csv", index=False)
    with pytest.warns(UserWarning, match="filled 2 missing"):
        s = imu.read(tmp_path / "gaps.csv", nan_policy="interpolate")
    assert s.filled == 2 and s.values[0].tolist() == pytest.approx([1, 2, 3, 4, 5])


def test_bad_option_names_the_option(imu, tmp_path):
    np.save(tmp_path / "w.npy", np.zeros((6, 8)))
    with pytest.raises(ValueError, match="acc_unit"):
        imu.read(tmp_path / "w.npy", acc_unit="furlong/s2")
    with pytest.raises(ValueError, match="optional_groups \\['mag'\\] are not in groups"):
        imu.read(tmp_path / "w.npy", optional_groups=["mag"])


def test_cli_lists_the_modality_with_its_layout():
    import json
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "metaframe", "list-modalities", "--format", "json"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    row = {r["name"]: r for r in json.loads(proc.stdout)}["imu"]
    assert row["status"] == "ok" and row["distribution"] == "metaframe-imu"
    assert "acc_x" in row["info"]["layout"] and ".npy" in row["extensions"]
