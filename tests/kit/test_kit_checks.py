"""The checks catch what they claim to catch: a toy modality with one bug at a time.

The toy is a variable-length sequence of vectors (``.npy`` files ``[length, 2]``) with a
fittable offset; ``bug=...`` options switch on one defect each, and exactly the check meant
for it must fail, while the bug-free toy passes every check.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import metaframe
from metaframe.collate import pad_sequences
from metaframe.testing import CHECK_NAMES, ConformanceError, check_modality, temporary_modality
from metaframe.testing.catalog import validate_xfail
from metaframe.testing.checks import check_entry_module_torch_free
from metaframe.testing.subject import ModalityUnderTest
from metaframe.tokens import TokenBatch
from metaframe_registry import ReadError, UnknownModalityError

MAX_LEN = 16


def read_toy(source, bug=None):
    if bug == "accepts_anything" and not isinstance(source, np.ndarray):
        return torch.zeros(1, 2)
    if isinstance(source, np.ndarray):
        array = source
    else:
        try:
            array = np.load(source, allow_pickle=False)
        except Exception as exc:  # noqa: BLE001
            if bug == "value_error":
                raise ValueError("cannot parse") from exc
            raise ReadError(source, f"not a .npy array ({exc})") from exc
        if not np.isfinite(array).all():
            raise ReadError(source, "holds NaN or inf values")
    return torch.as_tensor(array, dtype=torch.float32)


def collate_toy(samples):
    values, mask = pad_sequences(samples)
    return {"values": values, "mask": mask}


def toy_examples(directory: Path):
    rng = np.random.default_rng(0)
    paths = []
    for i, length in enumerate([3, 6]):
        path = directory / f"toy_{i}.npy"
        np.save(path, rng.normal(size=(length, 2)).astype(np.float32))
        paths.append(path)
    return paths


class ToyTokenizer(nn.Module):
    def __init__(self, embed_dim: int, bug: str | None = None) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.bug = bug
        self.proj = nn.Linear(2, embed_dim)
        self.pos = nn.Parameter(torch.randn(MAX_LEN, embed_dim) * 0.02)
        self.offset = 0.0
        if bug == "plain_tensor":
            self.scale = torch.ones(1)

    def fit(self, samples):
        self.offset = float(torch.cat(list(samples)).mean())

    def fitted_state(self):
        return {} if self.bug == "forget_fitted" else {"offset": self.offset}

    def load_fitted_state(self, state):
        self.offset = state.get("offset", 0.0)

    def forward(self, batch):
        values, mask = batch["values"] - self.offset, batch["mask"]
        tokens = self.proj(values) + self.pos[: values.shape[1]]
        if self.bug == "batch_stats":
            tokens = tokens - tokens.mean(dim=(0, 1), keepdim=True)
        if self.bug == "random_in_eval":
            tokens = tokens + torch.randn_like(tokens)
        if self.bug == "detached":
            tokens = tokens.detach()
        if self.bug == "wrong_width":
            tokens = torch.cat([tokens, tokens[..., :1]], dim=-1)
        if self.bug == "ignore_mask":
            mask = None
        return TokenBatch(tokens, mask)


def toy_fields(tokenizer_bug=None, reader_bug=None):
    return dict(
        tokenizer=ToyTokenizer,
        reader=read_toy,
        collate=collate_toy,
        examples=toy_examples,
        extensions=[".npy"],
        example_tokenizer_options={"bug": tokenizer_bug} if tokenizer_bug else {},
        example_reader_options={"bug": reader_bug} if reader_bug else {},
    )


def failing_checks(report) -> set[str]:
    return {r.check for r in report.failures}


def test_a_correct_modality_passes_every_check(register_modality):
    register_modality("toy", **toy_fields())
    report = check_modality("toy")
    assert report.ok
    statuses = {r.check: r.status for r in report.results}
    assert list(statuses) == list(CHECK_NAMES)
    # registered at run time: there is no entry module to import; and the GPU half needs a GPU
    skipped = {"check_entry_module_torch_free"} | (set() if torch.cuda.is_available() else {"check_tokenizer_runs_on_cuda"})
    assert {c for c, s in statuses.items() if s == "skipped"} == skipped
    assert all(s == "passed" for c, s in statuses.items() if c not in skipped)


@pytest.mark.parametrize(
    "tokenizer_bug, reader_bug, expected",
    [
        ("ignore_mask", None, "check_padding_invariance"),
        ("batch_stats", None, "check_padding_invariance"),
        ("random_in_eval", None, "check_eval_deterministic"),
        ("detached", None, "check_gradients_reach_tokenizer_only"),
        ("wrong_width", None, "check_tokenizer_output"),
        ("plain_tensor", None, "check_tokenizer_moves_with_to"),
        ("forget_fitted", None, "check_state_dict_safetensors_roundtrip"),
        (None, "value_error", "check_reader_rejects_corrupt_file"),
        (None, "accepts_anything", "check_reader_rejects_corrupt_file"),
    ],
)
def test_each_bug_is_caught_by_its_check(register_modality, tokenizer_bug, reader_bug, expected):
    register_modality("toy", **toy_fields(tokenizer_bug, reader_bug))
    report = check_modality("toy", raise_on_failure=False)
    assert expected in failing_checks(report), str(report)


def test_failure_messages_say_what_was_expected(register_modality):
    register_modality("toy", **toy_fields(reader_bug="value_error"))
    report = check_modality("toy", checks=["check_reader_rejects_corrupt_file"], raise_on_failure=False)
    (result,) = report.results
    assert "ValueError" in result.message and "ReadError" in result.message


def test_check_modality_raises_with_the_whole_report(register_modality):
    register_modality("toy", **toy_fields("detached"))
    with pytest.raises(ConformanceError, match="check_gradients_reach_tokenizer_only") as info:
        check_modality("toy")
    assert "check_tokenizer_output" in str(info.value)  # passing checks are listed too


def test_declared_known_failures_are_xfailed_and_strict(register_modality):
    register_modality("toy", **toy_fields("detached"))
    reason = "toy tokenizer detaches on purpose"
    report = check_modality("toy", xfail={"check_gradients_reach_tokenizer_only": reason})
    assert report.ok
    (result,) = [r for r in report.results if r.check == "check_gradients_reach_tokenizer_only"]
    assert result.status == "xfailed" and reason in result.message
    # a declared failure that passes is reported, so stale declarations cannot pile up
    report = check_modality(
        "toy", xfail={"toy": {"check_tokenizer_output": "wrongly declared"}}, checks=["check_tokenizer_output"],
        raise_on_failure=False,
    )
    assert [r.status for r in report.failures] == ["xpassed"]


def test_a_misspelt_check_name_in_xfail_is_refused():
    with pytest.raises(ValueError, match="check_paddin_invariance"):
        validate_xfail({"check_paddin_invariance": "typo"})
    with pytest.raises(ValueError, match="known checks"):
        validate_xfail({"toy": {"nope": "typo"}})


def test_an_entry_module_that_imports_torch_is_caught(register_modality):
    manifest = register_modality("toy", **toy_fields())
    heavy = ModalityUnderTest(manifest, entry_point="torch.nn:Identity")
    with pytest.raises(AssertionError, match="imports torch"):
        check_entry_module_torch_free(heavy)
    check_entry_module_torch_free(ModalityUnderTest(manifest, entry_point="metaframe_image:manifest"))


def test_the_registry_fixture_is_isolated_and_temporary_modalities_go_away(metaframe_registry):
    assert metaframe.list_modalities() == []  # installed plugins are not visible
    assert "classification" in metaframe.list_heads()  # the built-in heads are
    with temporary_modality("toy", **toy_fields()):
        sample = metaframe.get_modality("toy").read(np.ones((4, 2), dtype=np.float32))
        assert tuple(sample.shape) == (4, 2)
    with pytest.raises(UnknownModalityError):
        metaframe.get_modality("toy")


def test_parametrize_gives_one_test_id_per_check_and_strict_known_failures():
    from metaframe.testing import parametrize_with_checks

    mark = parametrize_with_checks(["image"], xfail={"check_tokenizer_output": "declared"}).mark
    argnames, params = mark.args
    assert argnames == ("modality", "check")
    assert [p.id for p in params] == [f"image-{name}" for name in CHECK_NAMES]
    marked = {p.id: p.marks for p in params if p.marks}
    (xfail,) = marked.pop("image-check_tokenizer_output")
    assert not marked and xfail.kwargs == {"reason": "declared", "strict": True}


def test_a_check_that_does_not_apply_skips_the_pytest_test(register_modality):
    from metaframe.testing import Check

    manifest = register_modality("toy", **toy_fields())  # registered at run time: no entry module to import
    with pytest.raises(pytest.skip.Exception, match="registered at run time"):
        Check("check_entry_module_torch_free")(manifest)
    Check("check_padding_invariance")("toy")  # and an applicable one runs (by name)
