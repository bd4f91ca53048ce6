"""`metaframe encode` options and refusals, through the CLI as a user runs it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def _png(path: Path, h: int, w: int) -> Path:
    Image.fromarray(np.full((h, w, 3), 9, np.uint8)).save(path)
    return path


def test_tokenizer_and_reader_options(tmp_path: Path, cli) -> None:
    a, b = _png(tmp_path / "a.png", 20, 20), _png(tmp_path / "b.png", 30, 10)
    out = tmp_path / "emb.npy"
    ok = cli(
        "encode", "image", str(a), str(b), "--out", str(out), "-q",
        "--tokenizer-option", "patch_size=8", "--tokenizer-option", "image_size=32", "--reader-option", "size=32",
    )
    assert ok.returncode == 0, ok.stderr
    assert np.load(out).shape == (2, 192)

    mixed = cli("encode", "image", str(a), str(b), "--out", str(out), "-q", "--reader-option", "size=null")
    assert mixed.returncode == 1
    assert "modality 'image': cannot batch these samples" in mixed.stderr and "Traceback" not in mixed.stderr

    bad = cli("encode", "image", str(a), "--out", str(out), "-q", "--tokenizer-option", "patch_size=5")
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert "modality 'image': cannot build its tokenizer" in bad.stderr and "not a multiple of patch_size 5" in bad.stderr
