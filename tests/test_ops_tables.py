"""The core's sample-side series helpers (metaframe.ops): tables, missing values, .npy files.

Readers of time_series, imu and third-party plugins turn their errors into messages that name
the file, the column and the row; these tests hold them to that.
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

from metaframe.ops import (
    NAN_POLICIES,
    TABLE_EXTENSIONS,
    FilledValuesWarning,
    datetime_column,
    fill_missing,
    load_npy,
    load_table,
    numeric_column,
    require_columns,
)
from metaframe_registry import ReadError

pd = pytest.importorskip("pandas")  # the table helpers import it when they run; plugins that read tables depend on it

FRAME = pd.DataFrame({"date": pd.date_range("2020-01-01", periods=4, freq="h"), "x": [1.0, 2.0, 3.0, 4.0], "n": [1, 2, 3, 4]})


@pytest.mark.parametrize("suffix", TABLE_EXTENSIONS)
def test_load_table_reads_csv_and_parquet_alike(tmp_path, suffix):
    path = tmp_path / f"t{suffix}"
    FRAME.to_csv(path, index=False) if suffix == ".csv" else FRAME.to_parquet(path)
    table = load_table(path)
    assert list(table.columns) == ["date", "x", "n"] and len(table) == 4
    np.testing.assert_array_equal(numeric_column(table, "x", path), [1.0, 2.0, 3.0, 4.0])
    stamps = datetime_column(table, "date", path)
    assert (stamps == FRAME["date"]).all()


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("header.csv", b"a,b\n", "has a header (a, b) but no data rows"),
        ("broken.csv", b'a,b\n1,"2\n', "malformed CSV"),
        ("broken.parquet", b"PAR1 not parquet at all", "corrupt or unreadable .parquet file"),
        ("table.xlsx", b"whatever", "unsupported extension '.xlsx'"),
        ("empty.csv", b"", "file is empty (0 bytes)"),
    ],
)
def test_load_table_errors_name_the_file_and_the_problem(tmp_path, name, content, problem):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ReadError) as info:
        load_table(path)
    assert str(info.value).startswith(str(path)) and problem in str(info.value)


def test_load_table_checks_the_file_itself(tmp_path):
    with pytest.raises(ReadError, match=r"absent\.csv: file not found"):
        load_table(tmp_path / "absent.csv")
    with pytest.raises(ReadError, match="is a directory"):
        load_table(tmp_path)


def test_a_wrong_column_is_named_with_the_columns_the_file_has():
    with pytest.raises(ReadError, match=r"src: missing columns 'y'; the file has: 'date', 'x', 'n'"):
        require_columns(FRAME, ["x", "y"], "src")
    with pytest.raises(ReadError, match=r"src: missing column 'y'; the file has: 'date', 'x', 'n'"):
        numeric_column(FRAME, "y", "src")
    with pytest.raises(ReadError, match=r"src: missing timestamp column 'when'"):
        datetime_column(FRAME, "when", "src")


@pytest.mark.filterwarnings("ignore:Could not infer format")
def test_numeric_and_datetime_columns_name_the_bad_row():
    table = pd.DataFrame({"v": ["1", None, "x3"], "t": ["2020-01-01", "2020-01-02", None]})
    with pytest.raises(ReadError, match=r"src: column 'v' is not numeric: row 2 holds 'x3'"):
        numeric_column(table, "v", "src")
    assert np.isnan(numeric_column(pd.DataFrame({"v": [1.0, None]}), "v", "src")[1]), "empty cells become NaN"
    with pytest.raises(ReadError, match=r"src: timestamp column 't' has a missing timestamp at row 2"):
        datetime_column(table, "t", "src")
    with pytest.raises(ReadError, match=r"src: timestamp column 'v' cannot be parsed as dates"):
        datetime_column(pd.DataFrame({"v": ["not a date", "x"]}), "v", "src")


GAPPY = np.array([[np.nan, 1.0], [2.0, np.nan], [np.nan, 3.0], [6.0, 5.0]])


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("ffill", [[2.0, 1.0], [2.0, 1.0], [2.0, 3.0], [6.0, 5.0]]),  # a leading gap takes the first valid value
        ("interpolate", [[2.0, 1.0], [2.0, 2.0], [4.0, 3.0], [6.0, 5.0]]),  # linear in the step, ends held
        ("zero", [[0.0, 1.0], [2.0, 0.0], [0.0, 3.0], [6.0, 5.0]]),
    ],
)
def test_fill_missing_rules(policy, expected):
    original = GAPPY.copy()
    with pytest.warns(FilledValuesWarning, match=rf"src: filled 3 missing value\(s\) with nan_policy='{policy}'"):
        out, count = fill_missing(GAPPY, policy, "src", ["a", "b"])
    assert count == 3
    np.testing.assert_allclose(out, expected)
    np.testing.assert_array_equal(GAPPY, original, err_msg="the input is not changed")


def test_fill_missing_refuses_what_it_cannot_fill():
    assert NAN_POLICIES == ("error", "ffill", "zero", "interpolate")
    with pytest.raises(ReadError, match=r"src: 3 missing \(NaN\) value\(s\); first in column 'a' at step 0"):
        fill_missing(GAPPY, "error", "src", ["a", "b"])
    with pytest.raises(ReadError, match=r"1 value\(s\) out of range; the first, inf in column .b. at step 1, is an infinite value"):
        fill_missing(np.array([[1.0, 2.0], [3.0, np.inf]]), "zero", "src", ["a", "b"])
    with pytest.raises(ReadError, match=r"column 'b' has no valid value at all; nan_policy='ffill'"):
        fill_missing(np.array([[1.0, np.nan], [2.0, np.nan]]), "ffill", "src", ["a", "b"])
    with pytest.raises(ValueError, match="nan_policy='mean': expected one of error, ffill, zero, interpolate"):
        fill_missing(GAPPY, "mean", "src")
    clean = np.ones((3, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, count = fill_missing(clean, "error", "src")
    assert count == 0 and out is clean


def test_load_npy_reads_numbers_and_refuses_the_rest(tmp_path):
    good = tmp_path / "a.npy"
    np.save(good, np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(load_npy(good), np.arange(6.0).reshape(2, 3))
    text = tmp_path / "s.npy"
    np.save(text, np.array(["a", "b"]))
    with pytest.raises(ReadError, match=r"s\.npy: holds <U1 data, expected numbers"):
        load_npy(text)
    objects = tmp_path / "o.npy"
    np.save(objects, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ReadError, match=r"o\.npy: not a valid \.npy file"):
        load_npy(objects)
    junk = tmp_path / "j.npy"
    junk.write_bytes(b"not numpy")
    with pytest.raises(ReadError, match=r"j\.npy: not a valid \.npy file"):
        load_npy(junk)
    with pytest.raises(ReadError, match=r"absent\.npy: file not found"):
        load_npy(tmp_path / "absent.npy")


def test_importing_metaframe_ops_loads_neither_torch_nor_pandas():
    probe = "import sys, metaframe.ops; print(sorted(m for m in ('torch', 'pandas', 'pyarrow') if m in sys.modules))"
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
