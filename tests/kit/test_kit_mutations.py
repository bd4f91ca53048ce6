"""Mutation tests: a deliberately broken plugin makes the check meant for its fault FAIL, and the
message names the fault; a check that does not apply is SKIPPED with its reason, never passed.

The toy is a variable-length sequence of 2-vectors (``.npy`` files ``[length, 2]``); each test
breaks one thing (a manifest field, a reference, the examples, the reader, the tokenizer).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from metaframe.collate import pad_sequences
from metaframe.modality import Modality
from metaframe.testing import CheckSkipped, check_modality
from metaframe.testing.checks import (
    check_eval_deterministic,
    check_examples_read,
    check_manifest_schema,
    check_padding_invariance,
    check_reader_rejects_empty_file,
    check_references_resolve,
    check_tokenizer_runs_on_cuda,
)
from metaframe.testing.subject import ModalityUnderTest
from metaframe.tokens import TokenBatch
from metaframe_registry import ReadError

LENGTHS = (3, 6)


def read_toy(source, accept_empty: bool = False, none_for: str | None = None):
    if isinstance(source, np.ndarray):
        return torch.as_tensor(source, dtype=torch.float32)
    path = Path(source)
    if accept_empty and path.stat().st_size == 0:
        return torch.zeros(1, 2)  # the fault: an empty file is taken for a one-row sample
    if none_for is not None and path.name == none_for:
        return None
    try:
        array = np.load(path, allow_pickle=False)
    except Exception as exc:  # noqa: BLE001
        raise ReadError(source, f"not a .npy array ({exc})") from exc
    return torch.as_tensor(array, dtype=torch.float32)


def collate_toy(samples):
    values, mask = pad_sequences(samples)
    return {"values": values, "mask": mask}


def write_examples(directory: Path, lengths=LENGTHS) -> list[Path]:
    rng = np.random.default_rng(0)
    paths = []
    for i, length in enumerate(lengths):
        path = directory / f"toy_{i}.npy"
        np.save(path, rng.normal(size=(length, 2)).astype(np.float32))
        paths.append(path)
    return paths


def equal_length_examples(directory: Path) -> list[Path]:
    return write_examples(directory, lengths=(4, 4))


def one_example(directory: Path) -> list[Path]:
    return write_examples(directory, lengths=(4,))


def missing_example(directory: Path) -> list[Path]:
    return [*write_examples(directory), directory / "never_written.npy"]


def corrupt_example(directory: Path) -> list[Path]:
    paths = write_examples(directory)
    paths[1].write_bytes(b"not an array")
    return paths


class ToyTokenizer(nn.Module):
    """Per-position linear tokens; ``bug`` switches on faults ("a+b" for two)."""

    def __init__(self, embed_dim: int, bug: str | None = None) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.bugs = set(bug.split("+")) if bug else set()
        self.proj = nn.Linear(2, embed_dim)
        self.pos = nn.Parameter(torch.randn(16, embed_dim) * 0.02)

    def forward(self, batch) -> TokenBatch:
        values, mask = batch["values"], batch["mask"]
        if "pad_leak" in self.bugs:  # a per-sample mean that counts the padding rows
            values = values - values.mean(dim=1, keepdim=True)
        tokens = self.proj(values) + self.pos[: values.shape[1]]
        if "truncate" in self.bugs:  # a fixed number of tokens from inputs of any length
            tokens, mask = tokens[:, :2], mask[:, :2]
        if "ignore_mask" in self.bugs:
            mask = None
        if "batch_stats" in self.bugs:
            tokens = tokens - tokens.mean(dim=(0, 1), keepdim=True)
        if "coin_flip_in_eval" in self.bugs:  # an augmentation left on in eval, half of the calls
            if bool(torch.rand(()) < 0.5):
                tokens = -tokens
        if "dropout_in_eval" in self.bugs:
            tokens = nn.functional.dropout(tokens, p=0.1, training=True)
        if "nan" in self.bugs:
            tokens = tokens * float("nan")
        if "wrong_width" in self.bugs:
            tokens = torch.cat([tokens, tokens[..., :1]], dim=-1)
        return TokenBatch(tokens, mask)


def toy(register_modality, *, bug: str | None = None, reader_options=None, **fields) -> ModalityUnderTest:
    values = dict(
        tokenizer=ToyTokenizer,
        reader=read_toy,
        collate=collate_toy,
        examples=write_examples,
        extensions=[".npy"],
        example_tokenizer_options={"bug": bug} if bug else {},
        example_reader_options=reader_options or {},
    )
    values.update(fields)
    return ModalityUnderTest(register_modality("toy", **values), entry_point=None)


# -- the manifest ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "update, fault",
    [
        ({"schema_version": 99}, r"schema_version.*99 is not supported"),
        ({"name": "Not-A-Name"}, r"does not validate: name:"),
        ({"info": {"written": object()}}, r"manifest field info must be JSON-serialisable"),
    ],
    ids=["unsupported-schema-version", "bad-name", "info-not-json"],
)
def test_a_broken_manifest_fails_check_manifest_schema_naming_the_field(register_modality, update, fault):
    good = toy(register_modality)
    check_manifest_schema(good)  # the unbroken manifest passes
    broken = ModalityUnderTest(good.manifest.model_copy(update=update), entry_point=None)  # copy skips validation
    with pytest.raises(AssertionError, match=fault):
        check_manifest_schema(broken)


@pytest.mark.parametrize(
    "field, reference, fault",
    [
        ("tokenizer", "metaframe_no_such_package.tokenizer:Tokenizer", r"tokenizer: .*metaframe_no_such_package"),
        ("collate", "math:pi", r"collate: math:pi is a float, expected a callable"),
        ("examples", "metaframe.testing.checks:no_such_function", r"examples: .*no_such_function"),
    ],
    ids=["module-missing", "not-callable", "attribute-missing"],
)
def test_a_reference_that_does_not_resolve_fails_check_references_resolve(register_modality, field, reference, fault):
    subject = toy(register_modality, **{field: reference})
    with pytest.raises(AssertionError, match=fault):
        check_references_resolve(subject)


def test_a_broken_reference_is_a_failed_line_of_the_report(register_modality):
    toy(register_modality, collate="math:pi")
    report = check_modality("toy", checks=["check_references_resolve"], raise_on_failure=False)
    assert [(r.status, "math:pi" in r.message) for r in report.results] == [("failed", True)]


# -- the examples ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields, fault",
    [
        ({"examples": one_example}, r"returned 1 example\(s\); the kit needs at least two"),
        ({"examples": missing_example}, r"example 2 \(.*never_written.npy\) does not exist"),
        ({"examples": corrupt_example}, r"example 1 \(.*toy_1.npy.*\) does not read: ReadError"),
        ({"reader_options": {"none_for": "toy_1.npy"}}, r"reader returned None for example 1"),
        ({"collate": None}, r"the 2 examples read but do not collate"),  # default collate refuses mixed lengths
        ({"bug": "nan"}, r"real tokens hold NaN or inf"),
        ({"bug": "wrong_width"}, r"width is 33, expected embed_dim=32"),
    ],
    ids=["one-example", "missing-file", "corrupt-example", "reader-returns-none", "no-collate", "nan", "width"],
)
def test_examples_that_do_not_work_fail_check_examples_read(register_modality, fields, fault):
    subject = toy(register_modality, **fields)
    with pytest.raises(AssertionError, match=fault):
        check_examples_read(subject)


def test_working_examples_pass_check_examples_read(register_modality):
    check_examples_read(toy(register_modality))


# -- the reader --------------------------------------------------------------------------------


def test_a_reader_that_accepts_empty_files_fails_check_reader_rejects_empty_file(register_modality, monkeypatch):
    subject = toy(register_modality, reader_options={"accept_empty": True})
    check_reader_rejects_empty_file(subject)  # Modality.read refuses empty files before any reader runs
    monkeypatch.setattr(Modality, "_check_file", lambda self, source: None)  # so take that guard away
    with pytest.raises(AssertionError, match=r"reading an empty file returned a Tensor instead of raising ReadError"):
        check_reader_rejects_empty_file(subject)


# -- eval determinism --------------------------------------------------------------------------


@pytest.mark.parametrize("bug", ["coin_flip_in_eval", "dropout_in_eval"])
def test_randomness_left_on_in_eval_fails_every_time(register_modality, bug):
    subject = toy(register_modality, bug=bug)
    for outer_seed in range(10):  # whatever state the caller left the RNG in
        torch.manual_seed(outer_seed)
        with pytest.raises(AssertionError, match=r"eval-mode pass \d \(torch.manual_seed\(\d\)\) differs from pass 0"):
            check_eval_deterministic(subject)


def test_the_eval_check_leaves_the_callers_random_state_alone(register_modality):
    subject = toy(register_modality)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    check_eval_deterministic(subject)
    assert torch.equal(torch.rand(3), expected)


# -- padding invariance ------------------------------------------------------------------------


@pytest.mark.parametrize("bug", ["ignore_mask", "batch_stats", "pad_leak"])
def test_tokens_that_depend_on_padding_fail_check_padding_invariance(register_modality, bug):
    subject = toy(register_modality, bug=bug)
    with pytest.raises(AssertionError, match=r"example 0 .*alone.* batched (first|second) with example 1"):
        check_padding_invariance(subject)


def test_padding_invariance_is_skipped_not_passed_when_every_example_has_the_same_length(register_modality):
    subject = toy(register_modality, examples=equal_length_examples, bug="pad_leak")  # the bug cannot show
    with pytest.raises(CheckSkipped, match=r"all examples have the same length \(4 real tokens each\); padding not exercised"):
        check_padding_invariance(subject)
    report = check_modality("toy", checks=["check_padding_invariance"], raise_on_failure=False)
    assert [r.status for r in report.results] == ["skipped"]


def test_padding_invariance_runs_when_inputs_differ_in_size_but_token_counts_agree(register_modality):
    check_padding_invariance(toy(register_modality, bug="truncate"))  # 2 tokens from 3 and 6 rows: runs, passes


def test_padding_invariance_with_equal_token_counts_still_catches_padding_leaks(register_modality):
    with pytest.raises(AssertionError, match="alone vs batched"):
        check_padding_invariance(toy(register_modality, bug="truncate+pad_leak"))


# -- devices -----------------------------------------------------------------------------------


def test_the_cuda_half_is_skipped_with_a_reason_without_cuda(register_modality, monkeypatch):
    from metaframe.testing import Check

    subject = toy(register_modality)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(CheckSkipped, match="CUDA is not available"):
        check_tokenizer_runs_on_cuda(subject)
    with pytest.raises(pytest.skip.Exception, match="CUDA is not available"):
        Check("check_tokenizer_runs_on_cuda")("toy")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="skipped: no CUDA")
def test_the_cuda_half_runs_on_a_gpu(register_modality):
    check_tokenizer_runs_on_cuda(toy(register_modality))
