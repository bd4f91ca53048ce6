"""Fixed-duration windows with overlap and the manifest's dataset (labels, .npy stacks, gravity per window)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import metaframe
from metaframe_registry import ReadError


def _recording(tmp_path, seconds: float = 10.0, rate: float = 50.0):
    t = np.arange(int(seconds * rate)) / rate
    table = pd.DataFrame({"timestamp": t})
    for g in ("acc", "gyro"):
        for axis in "xyz":
            table[f"{g}_{axis}"] = np.sin(t) + (9.80665 if (g, axis) == ("acc", "z") else 0.0)
    table["activity"] = np.where(t < 4.0, "walk", "sit")
    path = tmp_path / "rec.csv"
    table.to_csv(path, index=False)
    return path


def test_windows_have_fixed_duration_and_overlap(tmp_path):
    imu = metaframe.get_modality("imu")
    pairs = imu.dataset(_recording(tmp_path), window_seconds=2.0, overlap=0.5)
    assert len(pairs) == (500 - 100) // 50 + 1 == 9
    window, target = pairs[1]
    assert window.values.shape == (6, 100) and target is None
    full = imu.read(tmp_path / "rec.csv")
    np.testing.assert_array_equal(window.values.numpy(), full.values[:, 50:150].numpy())
    assert window.source.endswith("rec.csv[50:150]")
    assert len(imu.dataset(tmp_path / "rec.csv", window_seconds=2.0, overlap=0.0)) == 5


def test_labels_are_the_majority_of_each_window(tmp_path):
    imu = metaframe.get_modality("imu")
    pairs = imu.dataset(_recording(tmp_path), window_seconds=2.0, overlap=0.5, label_column="activity")
    assert pairs.label_names == ["sit", "walk"]
    # windows start every second; 'walk' covers 0..4 s: windows [0,2) [1,3) [2,4) walk, [3,5) tie -> 'sit' (first name)
    assert [t for _, t in pairs] == [1, 1, 1, 0, 0, 0, 0, 0, 0]


def test_gravity_mean_is_removed_per_window(tmp_path):
    imu = metaframe.get_modality("imu")
    pairs = imu.dataset(_recording(tmp_path), window_seconds=2.0, overlap=0.5, gravity="mean")
    for window, _ in pairs:
        assert abs(window.values[2].mean().item()) < 1e-4  # acc_z without its mean
    kept = imu.dataset(tmp_path / "rec.csv", window_seconds=2.0, overlap=0.5)  # gyroscope untouched
    np.testing.assert_array_equal(pairs[3][0].values[3:].numpy(), kept[3][0].values[3:].numpy())


def test_npy_stack_of_windows_with_labels(tmp_path):
    imu = metaframe.get_modality("imu")
    np.save(tmp_path / "stack.npy", np.random.randn(4, 6, 32).astype(np.float32))
    np.save(tmp_path / "labels.npy", np.array([2, 0, 2, 1]))
    pairs = imu.dataset(tmp_path / "stack.npy", labels=tmp_path / "labels.npy")
    assert len(pairs) == 4 and pairs.label_names == ["0", "1", "2"]
    assert [t for _, t in pairs] == [2, 0, 2, 1] and pairs[0][0].values.shape == (6, 32)
    with pytest.raises(ReadError, match=r"stack\.npy: has 4 windows but labels has 2"):
        imu.dataset(tmp_path / "stack.npy", labels=[0, 1])


def test_bad_window_requests(tmp_path):
    imu = metaframe.get_modality("imu")
    path = _recording(tmp_path, seconds=1.0)
    with pytest.raises(ReadError, match=r"rec\.csv: recording of 1 s \(50 steps at 50 Hz\) is shorter than one window of 2.56 s"):
        imu.dataset(path)
    with pytest.raises(ValueError, match="overlap must be in \\[0, 1\\)"):
        imu.dataset(path, window_seconds=0.5, overlap=1.0)
    with pytest.raises(ReadError, match="missing label column 'label'"):
        imu.dataset(path, window_seconds=0.5, label_column="label")
