"""One point cloud → float32 tensor ``[points, 3 + features]``: xyz first, then features.

Steps, in order: load columns (file or array), pick xyz and the requested features, apply
the non-finite policy, sample to ``num_points`` (or keep every point: variable counts,
padded by collate), centre and scale to the unit sphere.
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Literal, Sequence

import numpy as np
import torch

from metaframe.ops.guards import FLOAT32_MAX, within_or_raise
from metaframe_registry import ReadError

from .formats import Columns, array_columns, load_file

# feature name → accepted column-name groups (first group found wins) and width
FEATURES: dict[str, list[tuple[str, ...]]] = {
    "normals": [("nx", "ny", "nz"), ("normal_x", "normal_y", "normal_z")],
    "colour": [("red", "green", "blue"), ("r", "g", "b"), ("diffuse_red", "diffuse_green", "diffuse_blue")],
    "intensity": [("intensity",), ("i",), ("scalar_intensity",)],
}
ALIASES = {"color": "colour", "rgb": "colour", "normal": "normals"}


def feature_width(features: Sequence[str]) -> int:
    """Number of feature channels beside xyz for a ``features`` list."""
    return sum(len(FEATURES[ALIASES.get(f, f)][0]) for f in features)


def _pick(columns: Columns, names: tuple[str, ...]) -> np.ndarray | None:
    if all(n in columns for n in names):
        return np.stack([np.asarray(columns[n], dtype=np.float64) for n in names], axis=1)
    return None


def assemble(columns: Columns, features: Sequence[str], source: Any) -> np.ndarray:
    """xyz and the requested features as one ``[N, 3 + C]`` float64 array."""
    xyz = _pick(columns, ("x", "y", "z"))
    if xyz is None:
        raise ReadError(source, f"has no x, y, z columns (found: {sorted(columns)})")
    parts = [xyz]
    for feature in features:
        name = ALIASES.get(feature, feature)
        if name not in FEATURES:
            raise ValueError(f"features: {feature!r} is not one of {', '.join(FEATURES)}")
        found = None
        for group in FEATURES[name]:
            found = _pick(columns, group)
            if found is not None:
                if name == "colour":
                    raw = columns[group[0]]
                    if np.issubdtype(np.asarray(raw).dtype, np.integer) or found.max(initial=0) > 1.0:
                        found = found / 255.0
                break
        if found is None:
            raise ReadError(source, f"has no {name} (looked for columns {FEATURES[name]}; found: {sorted(columns)})")
        parts.append(found)
    return np.concatenate(parts, axis=1)


def _in_memory(source: Any, columns: list[str] | None) -> Columns:
    if isinstance(source, torch.Tensor):
        array = source.detach().cpu().numpy()
    elif hasattr(source, "__array__"):
        array = np.asarray(source)
    else:
        raise ReadError(source, "expected a point-cloud file path, a numpy array or a torch tensor [points, 3 + features]")
    return array_columns(array, columns, source)


def normalize_unit_sphere(xyz: np.ndarray) -> np.ndarray:
    """Centre on the mean, scale so the farthest point lies on the unit sphere."""
    centred = xyz - xyz.mean(axis=0, keepdims=True)
    radius = np.sqrt((centred**2).sum(axis=1)).max(initial=0.0)
    return centred / radius if radius > 0 else centred


def _sample(points: np.ndarray, num_points: int, sampling: str, seed: int | None, source: Any) -> np.ndarray:
    n = points.shape[0]
    if sampling == "fps":
        from .sampling import farthest_point_sample

        xyz = torch.from_numpy(np.ascontiguousarray(points[:, :3], dtype=np.float32))[None]
        index = farthest_point_sample(xyz, num_points)[0].numpy()
    elif sampling == "random":
        index = np.sort(np.random.default_rng(seed).choice(n, size=num_points, replace=False))
    elif sampling == "first":
        index = np.arange(num_points)
    else:
        raise ValueError(f"sampling={sampling!r}: expected 'fps', 'random' or 'first'")
    return points[index]


def read_point_cloud(
    source: Any,
    num_points: int | None = 1024,
    sampling: Literal["fps", "random", "first"] = "fps",
    features: Sequence[str] = (),
    normalize: bool = True,
    too_few: Literal["error", "repeat"] = "error",
    non_finite: Literal["error", "drop"] = "error",
    columns: list[str] | None = None,
    key: str | None = None,
    mesh_points: int | None = None,
    seed: int | None = 0,
    min_points: int = 1,
) -> torch.Tensor:
    """Read one point cloud as float32 ``[num_points, 3 + C]`` (``[N, 3 + C]`` when ``num_points`` is None).

    ``features``: any of ``normals``, ``colour`` (scaled to [0, 1]), ``intensity``, in that
    order of columns. ``too_few``: a cloud with fewer than ``num_points`` points is an error,
    or (``repeat``) its points are cycled. ``non_finite``: NaN / inf coordinates are an error,
    or (``drop``) those points are removed with a warning that counts them. ``columns`` names
    the columns of headerless tables and arrays; ``key`` picks the array of an ``.npz``;
    ``mesh_points`` samples that many points on an OFF or PLY mesh's faces instead of its
    vertices (area-weighted, seeded by ``seed``; xyz only). ``min_points``: a cloud with fewer
    points (after ``non_finite``) is a ``ReadError`` naming it; set it to the tokenizer's ``k`` so
    a cloud too small for its groups is refused here, not by the tokenizer (which cannot name it).
    """
    if isinstance(source, (str, os.PathLike)):
        cols = load_file(source, columns=columns, key=key, mesh_points=mesh_points, seed=seed or 0)
    else:
        cols = _in_memory(source, columns)
    points = assemble(cols, list(features), source)
    finite = np.isfinite(points).all(axis=1)
    if not finite.all():
        bad = int((~finite).sum())
        if non_finite == "error":
            first = int(np.argmin(finite))
            raise ReadError(
                source, f"{bad} of {len(points)} points have NaN or infinite values (first: point {first}); "
                "pass non_finite='drop' to remove them"
            )
        if non_finite != "drop":
            raise ValueError(f"non_finite={non_finite!r}: expected 'error' or 'drop'")
        warnings.warn(f"{source}: dropped {bad} of {len(points)} points with NaN or infinite values", stacklevel=2)
        points = points[finite]
    if len(points) == 0:
        raise ReadError(source, "holds no points")
    if num_points is not None:
        if num_points < 1:
            raise ValueError(f"num_points must be positive or None, got {num_points}")
        if len(points) < num_points:
            if too_few == "error":
                raise ReadError(
                    source, f"has {len(points)} points, fewer than num_points={num_points} "
                    "(lower num_points, pass num_points=None for variable counts, or too_few='repeat')"
                )
            points = points[np.arange(num_points) % len(points)]
        elif len(points) > num_points:
            points = _sample(points, num_points, sampling, seed, source)
    names = ["x", "y", "z", *[f"feature {i}" for i in range(points.shape[1] - 3)]]
    within_or_raise(points, source, FLOAT32_MAX, names, what="coordinate", why="the cloud is returned as float32")
    if len(points) < min_points:
        raise ReadError(
            source, f"has {len(points)} points, fewer than min_points={min_points} "
            "(the tokenizer groups k nearest neighbours: every cloud needs at least k points)"
        )
    if normalize:
        points = np.concatenate([normalize_unit_sphere(points[:, :3]), points[:, 3:]], axis=1)
    return torch.from_numpy(np.ascontiguousarray(points, dtype=np.float32))
