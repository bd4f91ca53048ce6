"""Readers: strings, lists, .txt (whole file or lines), JSONL / CSV / TSV columns; bad input names the file."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

import metaframe
from metaframe import ReadError


@pytest.fixture
def text():
    return metaframe.get_modality("text")


def texts_of(result):
    items = result if isinstance(result, list) else [result]
    return [s.text for s in items]


def test_a_string_is_the_text_and_a_list_gives_one_sample_each(text):
    assert texts_of(text.read("a photo of a cat")) == ["a photo of a cat"]
    assert texts_of(text.read(["one", "two", "three"])) == ["one", "two", "three"]
    with pytest.raises(ReadError, match="item 1 is a int"):
        text.read(["one", 2])


def test_txt_whole_file_or_one_sample_per_line(text, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("first line\n\nsecond line\n", encoding="utf-8")
    assert texts_of(text.read(path)) == ["first line\n\nsecond line\n"]
    assert texts_of(text.read(path, split="lines")) == ["first line", "second line"]
    # a string naming an existing .txt file is read as the file; input="text" forces the literal string
    assert texts_of(text.read(str(path), split="lines")) == ["first line", "second line"]
    assert texts_of(text.read(str(path), input="text")) == [str(path)]
    assert texts_of(text.read("notes.txt")) == ["notes.txt"]  # no such file: it is text


def test_jsonl_and_csv_datasets_with_text_and_label_columns(text, tmp_path):
    jsonl = tmp_path / "reviews.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in [{"text": "good film", "y": 1}, {"text": "bad film", "y": 0}]) + "\n")
    pairs = text.dataset(jsonl, label_column="y")
    assert [(s.text, y) for s, y in pairs] == [("good film", 1), ("bad film", 0)]
    csv = tmp_path / "reviews.csv"
    csv.write_text('id,body,label\n1,"fine, really",pos\n2,"said ""no""",neg\n', encoding="utf-8")
    pairs = text.dataset(csv, text_column="body", label_column="label")
    assert [(s.text, y) for s, y in pairs] == [("fine, really", "pos"), ('said "no"', "neg")]
    tsv = tmp_path / "reviews.tsv"
    tsv.write_text("text\tlabel\nhello there\t1\n")
    assert [(s.text, y) for s, y in text.dataset(tsv, label_column="label")] == [("hello there", "1")]
    assert texts_of(text.read(csv, text_column="body")) == ["fine, really", 'said "no"']
    lines = tmp_path / "lines.txt"
    lines.write_text("a\nb\n")
    assert [(s.text, y) for s, y in text.dataset(lines)] == [("a", None), ("b", None)]


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("empty.txt", b"", "file is empty"),
        ("blank.txt", b"  \n\n", "only whitespace"),
        ("empty.jsonl", b"", "file is empty"),
        ("bad.jsonl", b'{"text": "ok"}\n{"text": "broken\n', "line 2: malformed JSON"),
        ("list.jsonl", b'["text"]\n', "line 1: expected a JSON object"),
        ("nofield.jsonl", b'{"body": "x"}\n', "line 1: no field 'text'"),
        ("number.jsonl", b'{"text": 3}\n', "field 'text' is a int"),
        ("ragged.csv", b"text,label\nhello,1\nworld,2,extra\n", "line 3: expected 2 fields"),
        ("short.csv", b"text,label\nhello\n", "line 2: expected 2 fields"),
        ("nocol.csv", b"body,label\nhello,1\n", "no column 'text'"),
        ("header.csv", b"text,label\n", "no rows"),
        ("latin1.txt", "caf\u00e9 cr\u00e8me\n".encode("latin-1"), "not valid utf-8 at byte 3 (line 1)"),
        ("latin1.csv", "text\ncaf\u00e9\n".encode("latin-1"), "not valid utf-8 at byte 8 (line 2)"),
    ],
)
def test_bad_files_raise_read_error_naming_file_and_problem(text, tmp_path, name, content, problem):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ReadError) as info:
        text.dataset(path) if path.suffix != ".txt" else text.read(path)
    assert str(path) in str(info.value)
    assert problem in str(info.value)


def test_undecodable_bytes_replaced_and_counted_by_option(text, tmp_path):
    path = tmp_path / "mixed.txt"
    path.write_bytes("caf\u00e9 ".encode("latin-1") + "na\u00efve ".encode("utf-8") + b"\xff\xfe end")
    with pytest.warns(UserWarning, match="3 undecodable byte sequence"):
        sample = text.read(path, decode_errors="replace")
    assert sample.text == "caf\ufffd na\u00efve \ufffd\ufffd end"
    assert texts_of(text.read(path, encoding="latin-1"))[0].startswith("caf\u00e9")


def test_missing_file_and_directory_are_read_errors(text, tmp_path):
    with pytest.raises(ReadError, match="file not found"):
        text.read(tmp_path / "absent.txt")
    with pytest.raises(ReadError, match="is a directory"):
        text.read(Path(tmp_path))


def test_bad_options_are_named(text):
    with pytest.raises(ValueError, match="split='words'"):
        text.read("x", split="words")
    with pytest.raises(ValueError, match="on_truncate"):
        text.read("x", on_truncate="ignore")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        text.read("x")  # no warning for ordinary input


@pytest.mark.parametrize("line,problem", [
    ('{"text": ' + "[" * 5000 + "]" * 5000 + "}", "line 2: JSON nested too deeply"),  # was a raw RecursionError
    ('{"text": "a", "label": ' + "9" * 600_000 + "}", "line 2: unreadable JSON value"),  # int conversion limit
])
def test_hostile_json_lines_are_read_errors(text, tmp_path, line, problem):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "fine", "label": 1}\n' + line + "\n", encoding="utf-8")
    for read in (text.read, lambda p: text.dataset(p, label_column="label")):
        with pytest.raises(ReadError) as info:
            read(path)
        assert str(info.value).startswith(f"{path}: ") and problem in str(info.value), info.value
