"""ModelNet-style folders as ``(cloud, label)`` pairs, read lazily.

Two layouts, detected from what is in ``root``:

- resampled (``modelnet40_normal_resampled``): ``modelnet40_shape_names.txt`` (one class per
  line), ``modelnet40_<split>.txt`` (ids such as ``airplane_0001``), and
  ``<class>/<id>.txt`` files of ``x,y,z,nx,ny,nz`` rows; ``modelnet10_*`` names too;
- meshes (the original ModelNet): ``<class>/<split>/*.off``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import torch

from metaframe.ops import require_file
from metaframe_registry import ReadError

from .reader import read_point_cloud


class ModelNetDataset(Sequence[tuple[torch.Tensor, int]]):
    """``dataset[i]`` reads file ``i`` with the reader options; ``label_names[label]`` is its class."""

    def __init__(self, files: list[Path], labels: list[int], label_names: list[str], reader_options: dict[str, Any]) -> None:
        self.files = files
        self.labels = labels
        self.label_names = label_names
        self.reader_options = reader_options

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:  # type: ignore[override]
        path = require_file(self.files[index], what="a point cloud file")  # read outside Modality.read
        return read_point_cloud(path, **self.reader_options), self.labels[index]


def _resampled(root: Path, split: str) -> tuple[list[Path], list[int], list[str]] | None:
    for prefix in ("modelnet40", "modelnet10"):
        names_file = root / f"{prefix}_shape_names.txt"
        if not names_file.exists():
            continue
        names = [ln.strip() for ln in names_file.read_text().splitlines() if ln.strip()]
        split_file = root / f"{prefix}_{split}.txt"
        if not split_file.exists():
            raise ReadError(split_file, f"split file not found (split={split!r})")
        files, labels = [], []
        for line_no, line in enumerate(split_file.read_text().splitlines(), start=1):
            shape_id = line.strip()
            if not shape_id:
                continue
            cls = shape_id.rsplit("_", 1)[0]
            if cls not in names:
                raise ReadError(split_file, f"line {line_no}: {shape_id!r} has class {cls!r}, not in {names_file.name}")
            files.append(root / cls / f"{shape_id}.txt")
            labels.append(names.index(cls))
        return files, labels, names
    return None


def modelnet_dataset(
    root: str | Path, split: str = "train", num_points: int | None = 1024, features: Sequence[str] = (), **reader_options: Any
) -> ModelNetDataset:
    """ModelNet10/40 in either layout; ``features=["normals"]`` for the resampled files' normals."""
    path = Path(root)
    if not path.is_dir():
        raise ReadError(path, "expected a ModelNet folder (class folders, or modelnet40_shape_names.txt)")
    options = {"num_points": num_points, "features": list(features), **reader_options}
    found = _resampled(path, split)
    if found is None:
        classes = sorted(p.name for p in path.iterdir() if p.is_dir() and (p / split).is_dir())
        if not classes:
            raise ReadError(path, f"no modelnet*_shape_names.txt and no <class>/{split}/ folders")
        files, labels = [], []
        for label, cls in enumerate(classes):
            meshes = sorted((path / cls / split).glob("*.off"))
            files += meshes
            labels += [label] * len(meshes)
        found = (files, labels, classes)
    files, labels, names = found
    if not files:
        raise ReadError(path, f"split {split!r} lists no files")
    return ModelNetDataset(files, labels, names, options)
