"""PointPatchEmbed: FPS centres, kNN groups, a mini-PointNet per group, MLP positions.

Point-BERT / Meta-Transformer recipe: ``center_ratio`` 0.25 (1024 points → 256 centres),
``k`` = 32 neighbours, features = neighbour coordinates relative to the centre ('dp', plus
any per-point features), point-wise MLP 3→128 (BN, ReLU) →256, concat with the group max →
512, 512→512 (BN, ReLU) →D, max over the group. Positions: Linear(3,128), GELU, Linear(128,D)
on the centre coordinates, added once here (the frozen blocks carry no positions); with
``add_pos_each_block=True`` (the official model) they are left out of the tokens and written to
``extras[BLOCK_POSITIONS]`` instead, and MetaModel adds them before EVERY frozen block, the
first included, so block 0 sees tokens + positions once, as with the default.

Only real groups enter the MLP (padded centres are dropped before it and their tokens are
zero), so BatchNorm statistics in training never see padding, and in eval mode a cloud's
tokens do not depend on the other clouds of its batch.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from metaframe import extras as keys
from metaframe.tokens import TokenBatch

from .augment import AugmentConfig, augment_points
from .collate import PointCloudBatch
from .sampling import DEFAULT_KNN_BYTES, farthest_point_sample, gather_points, knn


class GroupEncoder(nn.Module):
    """Mini-PointNet: ``[R, k, C_in]`` groups → ``[R, D]``."""

    def __init__(self, in_features: int, embed_dim: int) -> None:
        super().__init__()
        self.first = nn.Sequential(nn.Linear(in_features, 128), nn.BatchNorm1d(128), nn.ReLU(inplace=True), nn.Linear(128, 256))
        self.second = nn.Sequential(nn.Linear(512, 512), nn.BatchNorm1d(512), nn.ReLU(inplace=True), nn.Linear(512, embed_dim))

    def forward(self, groups: torch.Tensor) -> torch.Tensor:
        r, k, c = groups.shape
        f = self.first(groups.reshape(r * k, c)).reshape(r, k, 256)
        g = f.max(dim=1, keepdim=True).values.expand(-1, k, -1)
        f = self.second(torch.cat([g, f], dim=-1).reshape(r * k, 512)).reshape(r, k, -1)
        return f.max(dim=1).values


class PointPatchEmbed(nn.Module):
    def __init__(
        self,
        embed_dim: int,
        center_ratio: float = 0.25,
        num_centers: int | None = None,
        k: int = 32,
        extra_features: int = 0,
        augment: dict[str, Any] | None = None,
        random_start: bool = False,
        knn_max_bytes: int = DEFAULT_KNN_BYTES,
        eval_group_chunk: int = 4096,
        add_pos_each_block: bool = False,
    ) -> None:
        """``num_centers`` fixes the token count (every cloud needs that many points);
        otherwise each cloud gets ``ceil(center_ratio * points)`` centres, padded with a mask.
        ``extra_features``: per-point channels beside xyz (3 for normals, 3 for colour, ...).
        ``augment``: ``AugmentConfig`` fields, applied in training mode only; ``random_start``
        draws FPS's first centre at random in training (eval always starts at point 0).
        ``eval_group_chunk``: in eval mode groups go through the MLP this many at a time
        (exact: BatchNorm then uses running statistics), bounding memory for large clouds.
        ``add_pos_each_block``: positions before every frozen block (official) instead of once at the input.
        """
        super().__init__()
        if not 0 < center_ratio <= 1:
            raise ValueError(f"center_ratio must be in (0, 1], got {center_ratio}")
        self.embed_dim = embed_dim
        self.center_ratio = center_ratio
        self.num_centers = num_centers
        self.k = k
        self.extra_features = extra_features
        self.augment = AugmentConfig(**augment) if augment else None
        self.random_start = random_start
        self.knn_max_bytes = knn_max_bytes
        self.eval_group_chunk = eval_group_chunk
        self.add_pos_each_block = add_pos_each_block
        self.encoder = GroupEncoder(3 + extra_features, embed_dim)
        self.pos_embed = nn.Sequential(nn.Linear(3, 128), nn.GELU(), nn.Linear(128, embed_dim))

    def centers_per_cloud(self, counts: torch.Tensor) -> torch.Tensor:
        if self.num_centers is not None:
            return torch.full_like(counts, self.num_centers)
        return torch.ceil(counts.double() * self.center_ratio).long().clamp_min(1)

    def forward(self, batch: PointCloudBatch | torch.Tensor) -> TokenBatch:
        if isinstance(batch, PointCloudBatch):
            points, mask = batch.points, batch.mask
        elif isinstance(batch, torch.Tensor):
            points, mask = batch, torch.ones(batch.shape[:2], dtype=torch.bool, device=batch.device)
        else:
            raise TypeError(f"expected a PointCloudBatch or a tensor [B, N, 3 + C], got {type(batch).__name__}")
        width = 3 + self.extra_features
        if points.dim() != 3 or points.shape[-1] != width:
            raise ValueError(f"expected points [batch, points, {width}] (xyz + {self.extra_features} features), got {tuple(points.shape)}")
        mask = mask.to(points.device)
        counts = mask.sum(1)
        m_each = self.centers_per_cloud(counts)
        short = (counts < m_each) | (counts < self.k)
        if bool(short.any()):
            i = int(short.nonzero()[0])
            raise ValueError(
                f"point cloud {i} of the batch has {int(counts[i])} points; it needs at least "
                f"{max(int(m_each[i]), self.k)} ({int(m_each[i])} centres, k={self.k} neighbours)"
            )
        if self.training and self.augment is not None:
            points = augment_points(points, mask, self.augment)
        xyz = points[..., :3].float()
        m = int(m_each.max())
        start: Any = "random" if (self.training and self.random_start) else 0
        center_idx = farthest_point_sample(xyz, m, mask=mask, start=start, allow_repeats=True)
        centers = gather_points(xyz, center_idx)  # [B, M, 3]
        center_mask = torch.arange(m, device=points.device).unsqueeze(0) < m_each.unsqueeze(1)
        neighbours = knn(xyz, centers, self.k, mask=mask, max_bytes=self.knn_max_bytes)  # [B, M, k]
        real = center_mask.nonzero(as_tuple=True)
        grouped = points[real[0].unsqueeze(1), neighbours[real]]  # [R, k, 3 + C]
        rel = grouped[..., :3] - centers[real].unsqueeze(1).to(grouped.dtype)
        features = torch.cat([rel, grouped[..., 3:]], dim=-1).to(self.pos_embed[0].weight.dtype)
        tokens = points.new_zeros(points.shape[0], m, self.embed_dim, dtype=features.dtype)
        if self.training or features.shape[0] <= self.eval_group_chunk:
            embedded = self.encoder(features)
        else:
            embedded = torch.cat([self.encoder(part) for part in features.split(self.eval_group_chunk)])
        out = {keys.CENTERS: centers, keys.CENTER_INDEX: center_idx}
        if self.add_pos_each_block:
            tokens[real] = embedded
            positions = torch.zeros_like(tokens)
            positions[real] = self.pos_embed(centers[real].to(features.dtype))
            out[keys.BLOCK_POSITIONS] = positions
        else:
            tokens[real] = embedded + self.pos_embed(centers[real].to(features.dtype))
        return TokenBatch(tokens, center_mask, out)
