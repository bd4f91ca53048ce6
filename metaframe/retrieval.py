"""Retrieval metrics over paired embeddings: recall@k in both directions and the median rank.

Row ``i`` of ``a`` and row ``i`` of ``b`` are a pair (the same thing in two modalities); every
other row is a negative. Ranks are 1-based: rank 1 means the pair scored highest. Ties count
against the pair (a tied negative ranks ahead), so a constant embedding scores no better than chance.
"""

from __future__ import annotations

from typing import Sequence

import torch


def pair_ranks(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """For each row of ``a``, the rank of its pair among all rows of ``b`` (cosine similarity)."""
    if a.dim() != 2 or a.shape != b.shape:
        raise ValueError(f"pair_ranks: expected two [n, d] tensors of one shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    if a.shape[0] < 2:
        raise ValueError("pair_ranks: retrieval needs at least 2 pairs (with 1 there is no negative)")
    sim = torch.nn.functional.normalize(a.float(), dim=-1) @ torch.nn.functional.normalize(b.float(), dim=-1).T
    positive = sim.diagonal()[:, None]
    return (sim >= positive).sum(1)  # the pair itself counts once: rank 1 when nothing ties or beats it


def retrieval_metrics(
    a: torch.Tensor, b: torch.Tensor, names: tuple[str, str] = ("a", "b"), ks: Sequence[int] = (1, 5, 10)
) -> dict[str, float]:
    """``{a}_to_{b}_recall@k``, ``{b}_to_{a}_recall@k`` and both median ranks, for paired rows."""
    out: dict[str, float] = {}
    for (x, y), (nx, ny) in (((a, b), names), ((b, a), names[::-1])):
        ranks = pair_ranks(x, y).float()
        for k in ks:
            out[f"{nx}_to_{ny}_recall@{k}"] = float((ranks <= k).float().mean())
        out[f"{nx}_to_{ny}_median_rank"] = float(ranks.median())
    return out


__all__ = ["pair_ranks", "retrieval_metrics"]
