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




# -- a toy modality: feature vectors in .npy files, registered per test (no plugin needed) --------

READS: dict[str, int] = {}
"""Reads per modality name, counted by ``read_toy`` (in-process: use num_workers 0 to count)."""


def read_toy(source: Any, name: str = "toy") -> Any:
    import torch

    READS[name] = READS.get(name, 0) + 1
    values = np.load(source) if isinstance(source, (str, Path)) else np.asarray(source)
    return torch.as_tensor(values, dtype=torch.float32)


def toy_tokenizer(embed_dim: int, features: int = 4, fittable: bool = False) -> Any:
    """One token per feature; with ``fittable`` a ``fit`` that records what it saw (a mean)."""
    import torch
    from torch import nn

    from metaframe.tokens import TokenBatch

    class Toy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed_dim = embed_dim
            self.proj = nn.Linear(1, embed_dim)
            self.register_buffer("mean", torch.zeros(features))

        def forward(self, batch: torch.Tensor) -> TokenBatch:
            return TokenBatch(self.proj((batch - self.mean)[..., None]))

    class FittableToy(Toy):
        def fit(self, samples: Any) -> None:
            seen = [torch.as_tensor(s, dtype=torch.float32) for s in samples]
            self.fit_calls = getattr(self, "fit_calls", 0) + 1
            self.seen = len(seen)
            self.mean.copy_(torch.stack(seen).mean(0))

        def fitted_state(self) -> dict[str, Any]:
            return {"seen": self.seen, "calls": self.fit_calls, "mean": self.mean.tolist()}

        def load_fitted_state(self, state: dict[str, Any]) -> None:
            self.seen, self.fit_calls = state["seen"], state["calls"]
            self.mean.copy_(torch.tensor(state["mean"]))

    return FittableToy() if fittable else Toy()


def toy_fields(fittable: bool = False, name: str = "toy") -> dict[str, Any]:
    """Manifest fields for ``register_modality(name, **toy_fields(...))``."""
    from functools import partial

    return {
        "inputs": ["file", "array"],
        "extensions": [".npy"],
        "tokenizer": partial(toy_tokenizer, fittable=fittable),
        "reader": partial(read_toy, name=name),
    }


def write_toy_manifest(root: Path, rows: int = 12, columns: tuple[str, ...] = ("path",), seed: int = 0) -> Path:
    """A CSV manifest of ``rows`` .npy feature files per column, label 'hi' / 'lo' by the features' sign."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    lines = [",".join([*columns, "label"])]
    for i in range(rows):
        label = "hi" if i % 2 else "lo"
        cells = []
        for c in columns:
            values = rng.normal(size=4).astype(np.float32) + (2.0 if label == "hi" else -2.0)
            np.save(root / f"{c}{i}.npy", values)
            cells.append(f"{c}{i}.npy")
        lines.append(",".join([*cells, label]))
    (root / "data.csv").write_text("\n".join(lines) + "\n")
    return root / "data.csv"


def toy_config(train: Path | str, out: Path, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "modality": "toy",
        "encoder": {"embed_dim": 16, "depth": 1, "num_heads": 2, "seed": 0},
        "data": {"train": str(train), "val_fraction": 0.25},
        "epochs": 1, "batch_size": 3, "device": "cpu", "output_dir": str(out),
    }
    config.update(overrides)
    return config
