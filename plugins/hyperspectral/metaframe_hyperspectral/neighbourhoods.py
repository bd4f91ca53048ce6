"""Pixel-neighbourhood samples from a labelled cube: the usual hyperspectral classification set-up.

Every labelled pixel (label != 0; 0 = unlabelled) gives a sample: the k×k neighbourhood
around it, ``[bands, k, k]``, from the cube reflect-padded at its borders, and its class
``label - 1`` (classes 1..C become 0..C-1). Samples are cut on access, so a whole scene
(Indian Pines: 10,249 labelled pixels) costs one padded copy of the cube, not one per pixel.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator, Sequence, overload

import numpy as np
import torch

from metaframe_registry import ReadError

from .cube_files import MAT_SUFFIXES, load_label_file, load_mat, load_numpy
from .reader import read_cube


class Neighbourhoods(Sequence[tuple[torch.Tensor, int]]):
    """``(patch [bands, k, k], class)`` for each labelled pixel, in row-major order.

    ``positions`` holds each sample's (row, column), to paint predictions back onto the map.
    """

    def __init__(
        self,
        cube: torch.Tensor,
        labels: np.ndarray | torch.Tensor,
        neighbourhood: int = 7,
        ignore_label: int = 0,
        shift_labels: bool = True,
    ) -> None:
        if cube.dim() != 3:
            raise ValueError(f"cube must be [bands, H, W], got shape {tuple(cube.shape)}")
        labels = np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels)
        if labels.shape != tuple(cube.shape[1:]):
            h, w = cube.shape[1:]
            raise ValueError(f"label map has shape {labels.shape}, the cube is {h}x{w} (expected equal H x W)")
        if neighbourhood < 1 or neighbourhood % 2 == 0:
            raise ValueError(f"neighbourhood must be an odd size (the pixel at the centre), got {neighbourhood}")
        if labels.dtype.kind == "f":
            if not np.all(np.isfinite(labels)) or not np.all(labels == np.round(labels)):
                raise ValueError("label map holds non-integer values; expected class numbers (0 = unlabelled)")
            labels = labels.astype(np.int64)
        if labels.dtype.kind not in "biu":
            raise ValueError(f"label map must hold integers, got {labels.dtype}")
        labels = labels.astype(np.int64)
        if (labels < 0).any():
            raise ValueError(f"label map holds negative values (min {labels.min()}); expected 0 = unlabelled, 1..C classes")
        self.neighbourhood = neighbourhood
        radius = neighbourhood // 2
        padded = np.pad(cube.numpy(), ((0, 0), (radius, radius), (radius, radius)), mode="reflect") if radius else cube.numpy()
        self.cube = torch.from_numpy(np.ascontiguousarray(padded))
        self.positions = np.argwhere(labels != ignore_label)
        classes = labels[labels != ignore_label]
        self.targets = classes - 1 if shift_labels else classes
        self.num_classes = int(self.targets.max()) + 1 if len(self.targets) else 0

    def __len__(self) -> int:
        return len(self.positions)

    @overload
    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]: ...

    @overload
    def __getitem__(self, index: slice) -> list[tuple[torch.Tensor, int]]: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        row, col = self.positions[index]  # IndexError past the end, as a Sequence should
        k = self.neighbourhood
        return self.cube[:, row : row + k, col : col + k].clone(), int(self.targets[index])

    def __iter__(self) -> Iterator[tuple[torch.Tensor, int]]:
        return (self[i] for i in range(len(self)))


def _labels_from(source: Any, cube_path: Any, label_variable: str | None) -> np.ndarray:
    if source is None:  # the label map lives in the cube's own .mat / .npz file
        p = Path(cube_path)
        if p.suffix.lower() in MAT_SUFFIXES:
            return load_mat(p, label_variable, ndim=2, what="label map [H, W]")
        if p.suffix.lower() == ".npz":
            return load_numpy(p, label_variable, ndim=2, what="label map [H, W]")
        raise ReadError(cube_path, "no label map given: pass labels=<path of a .mat / .npy / .npz label map, or an array>")
    if isinstance(source, (str, os.PathLike)):
        return load_label_file(source, label_variable)
    return np.asarray(source)


def labelled_neighbourhoods(
    path: Any,
    labels: Any = None,
    neighbourhood: int = 7,
    variable: str | None = None,
    label_variable: str | None = None,
    bands: int | None = None,
    ignore_label: int = 0,
    shift_labels: bool = True,
) -> Neighbourhoods:
    """The modality's ``dataset``: a cube file (or array) and its label map → ``Neighbourhoods``.

    ``labels``: a ``.mat`` / ``.npy`` / ``.npz`` label map (``label_variable`` names the array),
    an array ``[H, W]``, or ``None`` when the cube's own ``.mat`` / ``.npz`` holds it.
    """
    cube = read_cube(path, variable=variable, bands=bands)
    label_map = _labels_from(labels, path, label_variable)
    where = labels if isinstance(labels, (str, os.PathLike)) else path
    try:
        return Neighbourhoods(cube, label_map, neighbourhood, ignore_label, shift_labels)
    except ValueError as exc:
        raise ReadError(where, str(exc)) from exc
