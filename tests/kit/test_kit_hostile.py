"""The hostile-input sweep: the generator makes the cases it promises, and the check fails a
reader that lets anything but a ReadError naming the file escape (mutation tests on a toy).

The toy reads ``.npy`` files ``[length, 2]``; ``leak`` options make it misbehave on one
generated case (by file stem), so each test breaks exactly one thing.
"""

from __future__ import annotations

import io
import struct
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from metaframe.collate import pad_sequences
from metaframe.testing import CHECK_NAMES, CheckSkipped, check_modality
from metaframe.testing.checks import check_reader_refuses_hostile_files
from metaframe.testing.hostile import (
    HUGE,
    HUGE_CLAIMS,
    MAX_BYTES,
    HostileFile,
    hostile_files,
    npy_bytes,
    npz_bytes,
    png_bytes,
)
from metaframe.testing.subject import ModalityUnderTest
from metaframe.testing.sweep import classify, non_finite, sweep_reader
from metaframe.tokens import TokenBatch
from metaframe_registry import ReadError


def read_toy(source, leak: str | None = None, on: str = "random-bytes"):
    """A careful .npy reader; ``leak`` makes it misbehave on the file whose stem is ``on``."""
    if isinstance(source, np.ndarray):
        return torch.as_tensor(source, dtype=torch.float32)
    path = Path(source)
    if leak and path.stem == on:
        if leak == "value_error":
            raise ValueError("cannot parse the header")
        if leak == "memory_error":
            raise MemoryError("Unable to allocate 10.9 TiB for an array")
        if leak == "unnamed":
            raise ReadError("<bytes>", "not an array")
        if leak == "nan":
            return torch.full((2, 2), float("nan"))
        if leak == "none":
            return None
        if leak == "unraisable":  # an error inside a callback: Python can only print it
            Noisy()
            raise ReadError(source, "not an array")
        if leak == "slow":
            time.sleep(0.3)
            raise ReadError(source, "not an array (slowly)")
    try:
        array = np.load(path, allow_pickle=False)
    except MemoryError as exc:
        raise ReadError(source, "the header claims more data than memory holds") from exc
    except Exception as exc:  # noqa: BLE001 - numpy raises several types for bad files
        raise ReadError(source, f"not a .npy array ({type(exc).__name__}: {exc})") from exc
    if leak != "keep_non_finite" and not np.isfinite(array).all():
        raise ReadError(source, "holds NaN or inf values")
    return torch.as_tensor(array, dtype=torch.float32)


class Noisy:
    def __del__(self):
        raise UnicodeDecodeError("utf-8", b"\xa8", 0, 1, "invalid start byte")


def collate_toy(samples):
    values, mask = pad_sequences(samples)
    return {"values": values, "mask": mask}


def write_examples(directory: Path) -> list[Path]:
    rng = np.random.default_rng(0)
    paths = []
    for i, length in enumerate((3, 6)):
        paths.append(directory / f"toy_{i}.npy")
        np.save(paths[-1], rng.normal(size=(length, 2)).astype(np.float32))
    return paths


class ToyTokenizer(torch.nn.Module):
    def __init__(self, embed_dim: int) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.proj = torch.nn.Linear(2, embed_dim)

    def forward(self, batch) -> TokenBatch:
        return TokenBatch(self.proj(batch["values"]), batch["mask"])


def toy(register_modality, **reader_options) -> ModalityUnderTest:
    manifest = register_modality(
        "toy", tokenizer=ToyTokenizer, reader=read_toy, collate=collate_toy, examples=write_examples,
        extensions=[".npy"], example_reader_options=reader_options,
    )
    return ModalityUnderTest(manifest, entry_point=None)


# -- the generator -------------------------------------------------------------------------------


def test_every_extension_gets_the_generic_cases_and_truncated_only_with_an_example():
    files = hostile_files([".npy", ".csv"], {".npy": b"\x93NUMPY" + b"\x00" * 90})
    cases = {(f.extension, f.case) for f in files}
    for ext in (".npy", ".csv"):
        assert {(ext, c) for c in ("empty", "random-bytes", "png-bytes", "text")} <= cases
    assert (".npy", "truncated") in cases and (".csv", "truncated") not in cases  # no example, no generic csv
    assert (".npy", "huge-claim") in cases and (".csv", "huge-claim") not in cases  # no generic csv header
    truncated = next(f for f in files if f.case == "truncated")
    assert truncated.content == (b"\x93NUMPY" + b"\x00" * 90)[:48]
    assert next(f for f in files if f.case == "empty").content == b""


def test_truncated_falls_back_to_a_generic_valid_file_when_examples_wrote_none():
    import zipfile

    cases = {(f.extension, f.case): f.content for f in hostile_files([".npz", ".npy"])}
    whole = npz_bytes()
    assert zipfile.is_zipfile(io.BytesIO(whole)) and np.load(io.BytesIO(whole))["arr_0"].shape == (4, 3)
    assert cases[(".npz", "truncated")] == whole[: len(whole) // 2]
    assert np.load(io.BytesIO(npy_bytes())).tolist() == np.arange(12, dtype=np.float32).reshape(4, 3).tolist()
    assert cases[(".npy", "truncated")] == npy_bytes()[: len(npy_bytes()) // 2]


def test_a_png_extension_gets_another_formats_bytes_not_its_own():
    cases = {f.case: f.content for f in hostile_files([".png"])}
    assert "png-bytes" not in cases and cases["wav-bytes"].startswith(b"RIFF")


def test_the_generator_is_seeded_and_every_file_is_small():
    extensions = [".npy", *HUGE_CLAIMS]
    assert hostile_files(extensions, seed=3) == hostile_files(extensions, seed=3)
    random_a = {f.extension: f.content for f in hostile_files([".npy"], seed=0) if f.case == "random-bytes"}
    random_b = {f.extension: f.content for f in hostile_files([".npy"], seed=1) if f.case == "random-bytes"}
    assert random_a != random_b
    for f in hostile_files(extensions, {e: b"x" * (3 * MAX_BYTES) for e in extensions}):
        assert max([len(f.content), *map(len, f.companions.values())]) <= MAX_BYTES, f.filename


def test_the_npy_huge_claim_is_a_valid_header_claiming_a_trillion_rows():
    content = next(f.content for f in hostile_files([".npy"]) if f.case == "huge-claim")
    stream = io.BytesIO(content)
    version = np.lib.format.read_magic(stream)
    shape, _, dtype = np.lib.format.read_array_header_1_0(stream) if version == (1, 0) else (None, None, None)
    assert shape == (HUGE, 3) and dtype == np.float32 and len(content) < 1024


def test_the_png_huge_claim_says_a_million_by_a_million_pixels():
    content = HUGE_CLAIMS[".png"]()
    width, height = struct.unpack(">II", content[16:24])
    assert (width, height) == (1_000_000, 1_000_000) and content.startswith(b"\x89PNG")
    assert png_bytes().startswith(b"\x89PNG") and len(png_bytes()) < 200


def test_the_text_format_cases_bite_the_standard_library_parsers():
    import csv
    import json

    cases = {(f.extension, f.case): f.content for f in hostile_files([".csv", ".jsonl", ".graphml"])}
    assert (".csv", "deep-nesting") not in cases and (".jsonl", "deep-nesting") in cases
    with pytest.raises(csv.Error, match="field larger than field limit"):
        list(csv.reader(io.StringIO(cases[(".csv", "long-line")].decode())))
    with pytest.raises(RecursionError):
        json.loads(cases[(".jsonl", "deep-nesting")])
    assert cases[(".csv", "utf16-text")].startswith((b"\xff\xfe", b"\xfe\xff"))
    expansion = cases[(".graphml", "entity-expansion")]
    assert len(expansion) < 2048 and expansion.count(b"&e8;") == 10  # 10^9 "lol"s once expanded


def test_companions_are_written_beside_the_file(tmp_path):
    hostile = HostileFile(".hdr", "huge-claim", b"ENVI\n", {".img": b"\x00" * 8})
    path = hostile.write(tmp_path)
    assert path == tmp_path / "hdr" / "huge-claim.hdr" and path.with_suffix(".img").read_bytes() == b"\x00" * 8


# -- classifying one read ------------------------------------------------------------------------


def test_a_read_stuck_in_python_is_interrupted_and_reported_slow(tmp_path):
    hostile = HostileFile(".npy", "random-bytes", b"1234")
    path = hostile.write(tmp_path)

    def spin(source):
        while True:
            pass

    start = time.perf_counter()
    outcome = classify(spin, hostile, path, hard_limit_s=0.2)
    assert time.perf_counter() - start < 5
    assert (outcome.status, outcome.error) == ("fail", "slow") and "interrupted" in outcome.message


def test_an_alarm_set_by_someone_else_is_left_running(tmp_path):
    import signal

    hostile = HostileFile(".npy", "text", b"hello")
    path = hostile.write(tmp_path)
    previous = signal.signal(signal.SIGALRM, lambda *args: None)
    signal.setitimer(signal.ITIMER_REAL, 100.0)  # as pytest-timeout's signal method does
    try:
        outcome = classify(lambda source: torch.zeros(1), hostile, path, hard_limit_s=0.5)
        assert outcome.status == "read-fine" and signal.getitimer(signal.ITIMER_REAL)[0] > 90
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_non_finite_values_are_found_inside_containers():
    assert non_finite({"values": torch.ones(2), "extra": [np.array([1.0, np.inf])]}) == "sample['extra'][0] (2,)"
    assert non_finite({"values": torch.ones(2), "ids": torch.arange(3), "text": "nan"}) is None
    assert non_finite(float("nan")) == "sample"


# -- the check on a toy: mutation tests ----------------------------------------------------------


def test_the_check_is_in_the_catalog_after_the_other_reader_checks():
    assert CHECK_NAMES.index("check_reader_refuses_hostile_files") == CHECK_NAMES.index("check_reader_rejects_empty_file") + 1


def test_a_reader_that_wraps_every_failure_in_read_error_passes(register_modality):
    subject = toy(register_modality)
    check_reader_refuses_hostile_files(subject)
    outcomes = sweep_reader(subject)
    cases = {"empty", "truncated", "header-only", "random-bytes", "png-bytes", "text", "huge-claim", "non-finite"}
    assert {o.case for o in outcomes} == cases
    assert all(o.status == "read-error" and str(o.path) in o.message for o in outcomes)


@pytest.mark.parametrize(
    "leak, on, fault",
    [
        ("value_error", "random-bytes", r"\.npy random-bytes: ValueError: cannot parse the header"),
        ("memory_error", "huge-claim", r"\.npy huge-claim: MemoryError: Unable to allocate"),
        ("unnamed", "png-bytes", r"\.npy png-bytes: unnamed-file: ReadError does not name the file png-bytes\.npy"),
        ("nan", "text", r"\.npy text: non-finite: read fine but sample \(2, 2\) holds NaN or inf"),
        ("none", "truncated", r"\.npy truncated: None: the reader returned None"),
        ("unraisable", "header-only", r"\.npy header-only: unraisable: 1 exception\(s\) printed as 'Exception ignored in "
         r"Noisy.__del__' \(first: UnicodeDecodeError"),
    ],
    ids=["raw-value-error", "memory-error", "read-error-without-the-file", "nan-sample", "none", "unraisable"],
)
def test_a_reader_that_leaks_fails_the_check_naming_extension_case_and_type(register_modality, leak, on, fault):
    subject = toy(register_modality, leak=leak, on=on)
    with pytest.raises(AssertionError, match=r"1 of 8 hostile files .*" + fault):
        check_reader_refuses_hostile_files(subject)


def test_a_slow_read_fails_even_when_it_ends_in_read_error(register_modality):
    subject = toy(register_modality, leak="slow", on="text")
    outcomes = {o.case: o for o in sweep_reader(subject, budget_s=0.2)}
    assert (outcomes["text"].status, outcomes["text"].error) == ("fail", "slow")
    assert "budget 0.2 s" in outcomes["text"].message
    assert all(o.status == "read-error" for case, o in outcomes.items() if case != "text")


def test_the_check_is_a_failed_line_of_the_report_and_skipped_without_extensions(register_modality):
    toy(register_modality, leak="value_error")
    report = check_modality("toy", checks=["check_reader_refuses_hostile_files"], raise_on_failure=False)
    assert [(r.status, "ValueError" in r.message) for r in report.results] == [("failed", True)]
    no_files = ModalityUnderTest(report_manifest_without_extensions(register_modality), entry_point=None)
    with pytest.raises(CheckSkipped, match="lists no file extensions"):
        check_reader_refuses_hostile_files(no_files)


def report_manifest_without_extensions(register_modality):
    return register_modality("toy_arrays", tokenizer=ToyTokenizer, reader=read_toy, collate=collate_toy, examples=write_examples)


def test_the_non_finite_case_holds_nan_and_inf_in_well_formed_files():
    cases = {(f.extension, f.case): f.content for f in hostile_files([".npy", ".npz", ".csv", ".xyz", ".png"])}
    array = np.load(io.BytesIO(cases[(".npy", "non-finite")]))
    assert array.shape == (4, 3) and np.isnan(array).sum() == 1 and np.isposinf(array).sum() == 1 and np.isneginf(array).sum() == 1
    assert np.isnan(np.load(io.BytesIO(cases[(".npz", "non-finite")]))["arr_0"]).any()
    table = cases[(".csv", "non-finite")].decode().splitlines()
    assert table[0] == "a,b,c" and "nan" in table[2] and "inf" in table[3]
    assert (".xyz", "non-finite") in cases and (".png", "non-finite") not in cases


def test_a_reader_that_passes_nan_through_fails_on_the_non_finite_case(register_modality):
    subject = toy(register_modality, leak="keep_non_finite")
    with pytest.raises(AssertionError, match=r"1 of 8 hostile files .*\.npy non-finite: non-finite: read fine but sample \(4, 3\) holds NaN or inf"):
        check_reader_refuses_hostile_files(subject)
