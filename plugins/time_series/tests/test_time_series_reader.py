"""Reading series through the registry: formats, columns, timestamps, missing values, bad files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import metaframe
from metaframe_registry import ReadError


@pytest.fixture()
def ts():
    return metaframe.get_modality("time_series")


def _table(steps: int = 10) -> pd.DataFrame:
    t = np.arange(steps, dtype=np.float64)
    return pd.DataFrame(
        {"date": pd.date_range("2016-07-01 00:00", periods=steps, freq="h"), "a": t, "b": 2 * t + 1, "OT": -t}
    )


def test_csv_and_parquet_read_the_same_values_and_time_features(ts, tmp_path):
    table = _table()
    table.to_csv(tmp_path / "s.csv", index=False)
    table.to_parquet(tmp_path / "s.parquet")
    a, b = ts.read(tmp_path / "s.csv"), ts.read(tmp_path / "s.parquet")
    assert a.values.shape == (10, 3) and a.values.dtype == torch.float32
    assert a.columns == ("a", "b", "OT")
    assert torch.equal(a.values, b.values)
    assert torch.allclose(a.values[:, 1], torch.arange(10.0) * 2 + 1)
    # 2016-07-01 00:00 is a Friday: month 7, day 1, weekday 4, hour 0 (Informer scaling)
    expected = torch.tensor([6 / 11 - 0.5, -0.5, 4 / 6 - 0.5, -0.5])
    assert torch.allclose(a.time_features[0], expected)
    assert torch.allclose(a.time_features[5, 3], torch.tensor(5 / 23 - 0.5))
    assert torch.allclose(a.time_features, b.time_features)


def test_columns_and_timestamp_options(ts, tmp_path):
    table = _table().rename(columns={"date": "stamp"})
    table.to_csv(tmp_path / "s.csv", index=False)
    one = ts.read(tmp_path / "s.csv", columns=["OT"], timestamp_column="stamp")
    assert one.values.shape == (10, 1) and one.time_features is not None
    assert torch.allclose(one.values[:, 0], -torch.arange(10.0))
    no_time = ts.read(tmp_path / "s.csv", columns=["a", "b"], timestamp_column=None)
    assert no_time.time_features is None and no_time.values.shape == (10, 2)
    with pytest.raises(ReadError, match=r"s\.csv: .*'stamp'.*not numeric|s\.csv: column 'stamp' is not numeric"):
        ts.read(tmp_path / "s.csv", timestamp_column=None)  # the stamp column would be a value column
    with pytest.raises(ReadError, match=r"s\.csv: missing columns 'nope'"):
        ts.read(tmp_path / "s.csv", columns=["a", "nope"])


def test_npy_univariate_multivariate_and_arrays(ts, tmp_path):
    np.save(tmp_path / "u.npy", np.arange(7, dtype=np.float64))
    np.save(tmp_path / "m.npy", np.ones((3, 12), dtype=np.float32))
    assert ts.read(tmp_path / "u.npy").values.shape == (7, 1)
    assert ts.read(tmp_path / "m.npy", channels_first=True).values.shape == (12, 3)
    assert ts.read(np.zeros((5, 2))).values.shape == (5, 2)
    assert ts.read(torch.zeros(4)).values.shape == (4, 1)
    np.save(tmp_path / "cube.npy", np.zeros((2, 3, 4)))
    with pytest.raises(ReadError, match=r"cube\.npy: expected a series"):
        ts.read(tmp_path / "cube.npy")


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("empty.csv", b"", "file is empty"),
        ("header.csv", b"date,a,b\n", "no data rows"),
        ("bad.parquet", b"PAR1 this is not parquet", "corrupt or unreadable"),
        ("bad.npy", b"\x93NUMPY garbage", "not a valid .npy"),
        ("text.csv", b"a,b\n1,2\n3,hello\n", "column 'b' is not numeric: row 1 holds 'hello'"),
        ("inf.csv", b"a,b\n1,2\n3,inf\n", "infinite value"),
        ("nan.csv", b"a,b\n1,2\n3,\n4,5\n", "missing \\(NaN\\) value\\(s\\); first in column 'b' at step 1"),
        ("badtime.csv", b"date,a\nyesterday-ish,1\n", "timestamp column 'date' cannot be parsed"),
    ],
)
def test_bad_files_raise_read_error_naming_the_file(ts, tmp_path, name, content, problem):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ReadError, match=problem) as info:
        ts.read(path)
    assert str(info.value).startswith(str(path) + ": ")


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("zero", [0.0, 1.0, 0.0, 0.0, 4.0]),
        ("ffill", [1.0, 1.0, 1.0, 1.0, 4.0]),
        ("interpolate", [1.0, 1.0, 2.0, 3.0, 4.0]),
    ],
)
def test_nan_policies_fill_count_and_warn(ts, tmp_path, policy, expected):
    path = tmp_path / "gaps.csv"
    path.write_text("x,y\n,0\n1,0\n,0\n,0\n4,0\n")  # empty cells = missing
    with pytest.warns(UserWarning, match=rf"gaps\.csv: filled 3 missing value\(s\) with nan_policy='{policy}'"):
        sample = ts.read(path, nan_policy=policy)
    assert sample.filled == 3
    assert sample.values[:, 0].tolist() == expected


def test_nan_policy_cannot_fill_an_all_missing_column_and_rejects_unknown_policy(ts, tmp_path):
    path = tmp_path / "hollow.csv"
    path.write_text("x,y\n1,\n2,\n")
    with pytest.raises(ReadError, match=r"hollow\.csv: column 'y' has no valid value"):
        ts.read(path, nan_policy="interpolate")
    with pytest.raises(ValueError, match="nan_policy='median'"):
        ts.read(path, nan_policy="median")


def test_collate_pads_with_a_mask_and_refuses_mixed_channels(ts):
    batch = ts.collate([ts.read(np.ones((5, 2))), ts.read(np.ones((3, 2)))])
    assert batch.values.shape == (2, 5, 2)
    assert batch.mask.tolist() == [[True] * 5, [True] * 3 + [False] * 2]
    assert batch.lengths.tolist() == [5, 3]
    with pytest.raises(ValueError, match="same number of channels"):
        ts.collate([ts.read(np.ones((5, 2))), ts.read(np.ones((5, 3)))])


@pytest.mark.parametrize("value", [3e38, -1e20, 2e19])
def test_values_whose_square_overflows_float32_are_named(ts, tmp_path, value):
    # 3e38 fits float32, but RevIN's variance squares it: inf, then NaN (or all-zero) tokens
    table = _table()
    table.loc[4, "b"] = value
    path = tmp_path / "big.csv"
    table.to_csv(path, index=False)
    with pytest.raises(ReadError, match=r"column 'b' at step 4, exceeds 1.84e\+19") as info:
        ts.read(path)
    assert str(info.value).startswith(f"{path}: ")
    with pytest.raises(ReadError, match="column 1 at step 4"):
        ts.read(table[["a", "b"]].to_numpy())


def test_large_but_safe_values_give_finite_tokens(ts):
    values = np.where(np.arange(64) % 2 == 0, 1e19, -1e19)[:, None]
    tokenizer = ts.build_tokenizer(embed_dim=8, in_channels=1)
    assert torch.isfinite(tokenizer(ts.collate([ts.read(values)])).tokens).all()


def test_npy_header_claiming_a_trillion_rows_is_refused(ts, tmp_path):
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f4", "fortran_order": False, "shape": (10**12,)})
    path = tmp_path / "bomb.npy"
    path.write_bytes(buf.getvalue() + b"\0" * 32)
    with pytest.raises(ReadError, match="header declares 1000000000000"):
        ts.read(path)


def test_channel_mismatch_with_the_tokenizer_names_the_file(ts, tmp_path):
    path = tmp_path / "two.npy"
    np.save(path, np.ones((12, 2)))
    tokenizer = ts.build_tokenizer(embed_dim=8, mode="step", in_channels=3)
    with pytest.raises(ReadError, match="series have 2 channels, this tokenizer was built with in_channels=3") as info:
        tokenizer(ts.collate([ts.read(path)]))
    assert str(info.value).startswith(f"{path}: ")
