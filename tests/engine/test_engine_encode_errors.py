"""``encode`` with samples the tokenizer refuses or that embed to NaN: skipped and reported, or
a stop naming the file — never a non-finite row written with success."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import metaframe
from engine_helpers import toy_fields, toy_tokenizer


def picky_tokenizer(embed_dim: int) -> Any:
    """The toy tokenizer, refusing a sample with a value above 100 (as a plugin refuses a bad size)."""
    inner = toy_tokenizer(embed_dim)
    forward = inner.forward

    def checked(batch: torch.Tensor) -> Any:
        if (batch > 100).any():
            raise ValueError("values above 100 do not fit this tokenizer")
        return forward(batch)

    inner.forward = checked
    return inner


def _files(root: Path) -> list[Path]:
    root.mkdir()
    values = [np.full(4, i, np.float32) for i in range(6)]
    values[2] = np.full(4, 1000, np.float32)  # refused by the tokenizer
    values[4] = np.array([1, np.nan, 2, 3], np.float32)  # a NaN: a non-finite embedding
    paths = []
    for i, v in enumerate(values):
        np.save(root / f"s{i}.npy", v)
        paths.append(root / f"s{i}.npy")
    return paths


@pytest.fixture
def picky(register_modality) -> None:
    register_modality("picky", **{**toy_fields(name="picky"), "tokenizer": partial(picky_tokenizer)})


def test_skip_errors_skips_samples_the_tokenizer_refuses_and_non_finite_rows(picky: None, tmp_path: Path) -> None:
    files = _files(tmp_path / "data")
    out = tmp_path / "emb.npy"
    torch.manual_seed(0)  # the fresh tokenizer's weights
    result = metaframe.encode("picky", files, out, skip_errors=True, batch_size=3, num_workers=0, quiet=True)
    kept = [files[i] for i in (0, 1, 3, 5)]
    assert result.sources == [str(f) for f in kept]
    written = np.load(out)
    assert written.shape[0] == 4 and np.isfinite(written).all()
    index = json.loads(Path(str(out) + ".json").read_text())
    failed = {Path(f["source"]).name: f["error"] for f in index["failed"]}
    assert set(failed) == {"s2.npy", "s4.npy"}
    assert "values above 100" in failed["s2.npy"] and "not finite" in failed["s4.npy"]
    # every kept row is the embedding of its own file, as when encoded alone
    torch.manual_seed(0)
    alone = metaframe.encode("picky", kept, batch_size=4, num_workers=0, quiet=True)
    torch.testing.assert_close(result.embeddings, alone.embeddings)


@pytest.mark.parametrize("bad, words", [(2, "values above 100"), (4, "not finite")])
def test_without_skip_errors_a_bad_sample_stops_naming_its_file(picky: None, tmp_path: Path, bad: int, words: str) -> None:
    files = _files(tmp_path / "data")
    others = [f for i, f in enumerate(files) if i in (0, 1, bad)]
    out = tmp_path / "emb.npy"
    with pytest.raises(metaframe.ReadError) as info:
        metaframe.encode("picky", others, out, batch_size=3, num_workers=0, quiet=True)
    assert str(files[bad]) in str(info.value) and words in str(info.value) and "--skip-errors" in str(info.value)
    assert not out.exists()
