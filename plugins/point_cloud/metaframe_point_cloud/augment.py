"""Training augmentations on batched clouds: scale, shift, jitter, rotation about one axis.

Applied to xyz (and, when ``normal_columns`` says where they are, rotated normals); padding
stays untouched. The tokenizer applies them only in training mode.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

AXES = {"x": 0, "y": 1, "z": 2}


@dataclass(frozen=True)
class AugmentConfig:
    scale: tuple[float, float] | None = (0.8, 1.25)  # uniform per-cloud, per-axis factors
    shift: float | None = 0.1  # uniform per-cloud translation in [-shift, shift]
    jitter: float | None = 0.01  # per-point Gaussian noise std ...
    jitter_clip: float = 0.05  # ... clipped to [-clip, clip]
    rotate_axis: str | None = None  # 'x', 'y' or 'z': a random angle in [0, 2 pi) per cloud
    normal_columns: int | None = None  # first column of normals (rotated with xyz), e.g. 3


def rotation_matrices(angles: torch.Tensor, axis: str) -> torch.Tensor:
    """``[B, 3, 3]`` rotations by ``angles`` about ``axis``."""
    if axis not in AXES:
        raise ValueError(f"rotate_axis={axis!r}: expected 'x', 'y' or 'z'")
    a = AXES[axis]
    i, j = [d for d in range(3) if d != a]
    r = torch.zeros(angles.shape[0], 3, 3, dtype=angles.dtype, device=angles.device)
    r[:, a, a] = 1
    r[:, i, i], r[:, i, j] = angles.cos(), -angles.sin()
    r[:, j, i], r[:, j, j] = angles.sin(), angles.cos()
    return r


def augment_points(
    points: torch.Tensor,
    mask: torch.Tensor | None = None,
    config: AugmentConfig | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """A new ``[B, N, 3 + C]`` tensor with the configured random transforms applied."""
    cfg = config or AugmentConfig()
    b, n, _ = points.shape
    opts = dict(dtype=points.dtype, device=points.device)
    xyz = points[..., :3]
    rest = points[..., 3:]
    if cfg.rotate_axis:
        angles = torch.rand(b, generator=generator, **opts) * (2 * math.pi)
        rot = rotation_matrices(angles, cfg.rotate_axis)
        xyz = xyz @ rot.transpose(1, 2)
        if cfg.normal_columns is not None:
            s = cfg.normal_columns - 3
            normals = rest[..., s : s + 3] @ rot.transpose(1, 2)
            rest = torch.cat([rest[..., :s], normals, rest[..., s + 3 :]], dim=-1)
    if cfg.scale:
        low, high = cfg.scale
        xyz = xyz * (low + (high - low) * torch.rand(b, 1, 3, generator=generator, **opts))
    if cfg.shift:
        xyz = xyz + (torch.rand(b, 1, 3, generator=generator, **opts) * 2 - 1) * cfg.shift
    if cfg.jitter:
        noise = torch.randn(b, n, 3, generator=generator, **opts) * cfg.jitter
        xyz = xyz + noise.clamp(-cfg.jitter_clip, cfg.jitter_clip)
    out = torch.cat([xyz, rest], dim=-1)
    if mask is not None:
        out = torch.where(mask.unsqueeze(-1), out, points)
    return out
