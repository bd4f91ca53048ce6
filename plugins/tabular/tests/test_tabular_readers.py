"""Readers: CSV / TSV / Parquet files, DataFrames, dicts; a target column by option; bad files name the problem."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import metaframe
from metaframe import ReadError

ROWS = [
    {"age": 39, "job": "clerk", "hours": 40.0, "income": "low"},
    {"age": 50, "job": "nurse", "hours": None, "income": "high"},
    {"age": None, "job": None, "hours": 13.5, "income": "low"},
]


@pytest.fixture(scope="module")
def tabular():
    return metaframe.get_modality("tabular")


def features(row):
    return {k: v for k, v in row.items() if k != "income"}


def assert_rows(got, expected):
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert list(g) == list(e)
        for key in e:
            if e[key] is None:
                assert g[key] is None, (key, g[key])
            else:
                assert g[key] == e[key] and not (isinstance(g[key], float) and math.isnan(g[key]))


def test_csv_tsv_and_parquet_give_the_same_rows_and_targets(tabular, tmp_path):
    frame = pd.DataFrame(ROWS)
    csv, tsv, parquet, jsonl = tmp_path / "t.csv", tmp_path / "t.tsv", tmp_path / "t.parquet", tmp_path / "t.jsonl"
    frame.to_csv(csv, index=False)
    frame.to_csv(tsv, index=False, sep="\t")
    frame.to_parquet(parquet)
    frame.to_json(jsonl, orient="records", lines=True)
    for path in (csv, tsv, parquet, jsonl):
        pairs = tabular.dataset(path, target="income")
        assert_rows([row for row, _ in pairs], [features(r) for r in ROWS])
        assert [y for _, y in pairs] == ["low", "high", "low"]
        assert_rows(tabular.read(path, target="income"), [features(r) for r in ROWS])
    assert [y for _, y in tabular.dataset(csv)] == [None, None, None]
    assert list(tabular.read(csv)[0]) == ["age", "job", "hours", "income"]


def test_dataframe_dict_of_columns_and_single_rows(tabular):
    frame = pd.DataFrame(ROWS)
    assert_rows(tabular.read(frame, target="income"), [features(r) for r in ROWS])
    columns = {k: [r[k] for r in ROWS] for k in ROWS[0]}
    assert_rows(tabular.read(columns, columns=["job", "hours"]), [{"job": r["job"], "hours": r["hours"]} for r in ROWS])
    one = tabular.read({"age": 39, "job": "clerk", "hours": float("nan")})
    assert one == {"age": 39, "job": "clerk", "hours": None}
    assert tabular.read(frame.iloc[0]) == ROWS[0]
    batch = tabular.collate([one, tabular.read({"hours": 1.0, "age": 2, "job": "x"})])
    assert batch.num_rows == 2 and list(batch.columns) == ["age", "job", "hours"]


def test_na_values_option_marks_placeholders_missing(tabular, tmp_path):
    path = tmp_path / "adult.csv"
    path.write_text("age,workclass\n39,State-gov\n50,?\n")
    rows = tabular.read(path, na_values=["?"])
    assert rows[1]["workclass"] is None
    assert tabular.read(path)[1]["workclass"] == "?"


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("empty.csv", b"", "file is empty"),
        ("header.csv", b"a,b\n", "has no rows"),
        ("ragged.csv", b"a,b\n1,2\n3,4,5\n", "line 3: expected 2 fields (as in the header), found 3: '3,4,5'"),
        ("short.csv", b"a,b\n1,2\n3\n", "line 3: expected 2 fields (as in the header), found 1"),
        ("latin1.csv", "name,n\nok,2\ncaf\u00e9,1\n".encode("latin-1"), "column 'name', data row 2: not valid utf-8"),
        ("broken.parquet", b"PAR1 this is not parquet", "malformed Parquet"),
        ("broken.jsonl", b'{"a": 1}\n{"a": \n', "malformed JSON Lines"),
        ("data.xlsx", b"whatever", "unsupported extension .xlsx"),
    ],
)
def test_bad_files_raise_read_error_naming_file_and_problem(tabular, tmp_path, name, content, problem):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ReadError) as info:
        tabular.read(path)
    message = str(info.value)
    assert message.startswith(str(path)) and problem in message


def test_text_columns_keep_codes_as_written(tabular, tmp_path):
    path = tmp_path / "codes.csv"
    path.write_text("zip,n\n01010,1\n20200,2\n,3\n")
    assert [r["zip"] for r in tabular.read(path)] == [1010, 20200, None]
    assert [r["zip"] for r in tabular.read(path, text_columns=["zip"])] == ["01010", "20200", None]
    frame = pd.DataFrame({"zip": [1010.0, None], "n": [1, 2]})
    assert [r["zip"] for r in tabular.read(frame, text_columns=["zip"])] == ["1010", None]
    with pytest.raises(ReadError, match="text_columns: no column 'postcode'"):
        tabular.read(frame, text_columns=["postcode"])


def test_other_encodings_by_option(tabular, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("name,n\ncaf\u00e9,1\n".encode("latin-1"))
    assert tabular.read(path, encoding="latin-1")[0]["name"] == "caf\u00e9"


def test_bad_in_memory_sources_and_columns(tabular, tmp_path):
    with pytest.raises(ReadError, match="different lengths"):
        tabular.read({"a": [1, 2], "b": [1]})
    with pytest.raises(ReadError, match="mixes list-valued columns"):
        tabular.read({"a": [1, 2], "b": 3})
    with pytest.raises(ReadError, match="no target column 'label'"):
        tabular.dataset(pd.DataFrame(ROWS), target="label")
    with pytest.raises(ReadError, match="no column 'salary'"):
        tabular.read(pd.DataFrame(ROWS), columns=["age", "salary"])
    with pytest.raises(ReadError, match="file not found"):
        tabular.read(tmp_path / "absent.csv")
    with pytest.raises(ValueError, match="row 1 has different columns.*missing \\['job'\\]"):
        tabular.collate([{"age": 1, "job": "a"}, {"age": 2}])


@pytest.mark.parametrize("name,content,problem", [
    ("dupes.csv", "a,a,b\n1,2,x\n3,4,y\n", "duplicate column names: 'a'"),
    ("inf.csv", "a,b\n1,inf\n2,3\n", "column 'b', data row 1: holds an infinite value"),
    ("neg_inf.tsv", "a\tb\n1\t2\n2\t-inf\n", "column 'b', data row 2: holds an infinite value"),
    ("huge.csv", "a,b\n1,1e308\n2,3\n", "column 'b', data row 1: holds 1e+308, beyond float32"),
    ("nested.jsonl", '{"a": [1, 2], "b": 1}\n{"a": [3], "b": 2}\n', "column 'a', data row 1: holds a nested value (a list)"),
    ("deep.ndjson", '{"a": ' + "[" * 5000 + "]" * 5000 + "}\n", "holds a nested value (a list)"),  # was a crash
    ("struct.jsonl", '{"a": {"x": 1}, "b": 1}\n', "holds a nested value (an object)"),
])
def test_cells_the_tokenizer_cannot_take_are_named_at_read(tabular, tmp_path, name, content, problem):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    for read in (tabular.read, tabular.dataset):
        with pytest.raises(ReadError) as info:
            read(path)
        assert str(info.value).startswith(f"{path}: ") and problem in str(info.value), info.value


def test_binary_and_utf16_files_are_read_errors(tabular, tmp_path):
    png = tmp_path / "image.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    utf16 = tmp_path / "wide.tsv"
    utf16.write_bytes("a,b\n1,2\n".encode("utf-16"))
    for path in (png, utf16):
        with pytest.raises(ReadError) as info:  # was a raw UnicodeDecodeError from pyarrow
            tabular.read(path)
        assert str(info.value).startswith(f"{path}: ")


def test_in_memory_out_of_range_values_are_named(tabular):
    with pytest.raises(ReadError, match="column 'x', row 1: holds an infinite value"):
        tabular.read(pd.DataFrame({"x": [1.0, math.inf]}))
    with pytest.raises(ReadError, match=r"column 'x', row 0: holds 1e\+300"):
        tabular.read({"x": 1e300})
    with pytest.raises(ReadError, match="digits"):
        tabular.read({"x": [1, 10**400]})
    with pytest.raises(ReadError, match=r"column 'x', row 1: holds a nested value \[1, 2\]"):
        tabular.read(pd.DataFrame({"x": [0, [1, 2]]}))


def test_values_near_float32_max_give_finite_tokens(tabular):
    rows = [{"x": 3.3e38}, {"x": -3.3e38}, {"x": -3.3e38}]  # (x - mean) overflows if done in float32
    tokenizer = tabular.build_tokenizer(embed_dim=8)
    tokenizer.fit(rows)
    assert tokenizer(tabular.collate(rows)).tokens.isfinite().all()
    with pytest.raises(ValueError, match="beyond float32"):
        tokenizer.fit([{"x": 1e300}, {"x": 1.0}])


def test_binary_files_give_one_clean_read_error_without_pyarrow_noise(tabular, tmp_path, monkeypatch):
    # pyarrow used to fail decoding a ragged binary row for our row handler, printing
    # "Exception ignored in _read_csv.<locals>.refuse" before the ReadError
    import sys

    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    rng = __import__("numpy").random.default_rng(3)
    for i in range(5):
        path = tmp_path / f"random{i}.csv"
        path.write_bytes(b"a,b\n1,2\n" + rng.bytes(2000))
        with pytest.raises(ReadError) as info:
            tabular.read(path)
        assert str(info.value).startswith(f"{path}: ")
    assert not unraisable, [u.exc_value for u in unraisable]
    ragged = tmp_path / "ragged.csv"
    ragged.write_bytes(b"a,b\n1,2\n3,4\n\xff\xfe,5,6\n")
    with pytest.raises(ReadError, match=r"line 4: not valid utf-8 text \(byte 12"):
        tabular.read(ragged)
    fine = tmp_path / "fine_ragged.csv"
    fine.write_text("a,b\n1,2\n3,4,5\n", encoding="utf-8")
    with pytest.raises(ReadError, match="line 3: expected 2 fields"):
        tabular.read(fine)
