"""Helpers shared by the engine tests (imported by name; conftest puts this folder on sys.path)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

BIN = Path(sys.executable).parent


def write_image_folders(root: Path, per_class: int = 12, seed: int = 0) -> Path:
    """Two linearly separable classes: dark 'cat' and bright 'dog' 8x8 RGB images."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for cls, offset in (("cat", 0), ("dog", 150)):
        folder = root / cls
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = rng.integers(0, 90, size=(8, 8, 3)) + offset
            Image.fromarray(pixels.astype(np.uint8)).save(folder / f"{i:02d}.png")
    return root


def tiny_config(train: Path | str, out: Path, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "modality": "image",
        "tokenizer": {"patch_size": 4, "image_size": 8},
        "reader": {"size": 8},
        "encoder": {"embed_dim": 32, "depth": 2, "num_heads": 2, "seed": 0},
        "head": {"kind": "classification"},
        "data": {"train": str(train), "val_fraction": 0.25},
        "epochs": 3,
        "batch_size": 4,
        "optimizer": {"lr": 0.003},
        "device": "cpu",
        "output_dir": str(out),
    }
    config.update(overrides)
    return config


def run_module(args: list[str], cwd: Path | None = None, timeout: int = 180) -> subprocess.CompletedProcess[str]:
    """A command from the venv (``metaframe``, ``torchrun``, ``python``) in a subprocess, 1 thread."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("METAFRAME_LOAD_PLUGINS", None)
    exe = args[0] if args[0] != "python" else sys.executable
    if exe != sys.executable:
        exe = str(BIN / exe)
    return subprocess.run([exe, *args[1:]], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)


