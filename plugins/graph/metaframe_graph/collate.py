"""Batches of graphs: nodes and edges padded separately, each with a mask."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import torch

from metaframe.collate import pad_sequences
from metaframe.device import Movable

from .graph import Graph


@dataclass
class GraphBatch(Movable):
    """Padded graphs. Node tensors ``[B, N, ...]``, edge tensors ``[B, E, ...]``; ``edge_index``
    ``[B, E, 2]`` holds node positions within each graph; ``eigvecs`` may be None."""

    node_features: torch.Tensor
    node_categories: torch.Tensor
    node_mask: torch.Tensor
    edge_index: torch.Tensor
    edge_features: torch.Tensor
    edge_categories: torch.Tensor
    edge_mask: torch.Tensor
    eigvecs: torch.Tensor | None
    sources: list[str | None] = field(default_factory=list)  # each graph's file, for error messages

    @property
    def num_nodes(self) -> torch.Tensor:
        return self.node_mask.sum(1)

    @property
    def num_edges(self) -> torch.Tensor:
        return self.edge_mask.sum(1)

    def __len__(self) -> int:
        return self.node_mask.shape[0]


def _same_width(samples: Sequence[Graph], name: str) -> None:
    widths = {getattr(g, name).shape[1] for g in samples}
    if len(widths) > 1:
        raise ValueError(f"graphs in one batch must have the same {name} width, got {sorted(widths)}")


def _pad(rows: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """pad_sequences, also for a batch where every graph has zero rows."""
    if max(r.shape[0] for r in rows) == 0:
        return rows[0].new_zeros((len(rows), 0, *rows[0].shape[1:])), torch.zeros(len(rows), 0, dtype=torch.bool)
    return pad_sequences(rows)


def collate_graphs(samples: Sequence[Graph]) -> GraphBatch:
    if not samples:
        raise ValueError("cannot collate an empty list of graphs")
    for name in ("node_features", "node_categories", "edge_features", "edge_categories"):
        _same_width(samples, name)
    has_eig = [g.eigvecs is not None for g in samples]
    if any(has_eig) and not all(has_eig):
        raise ValueError("some graphs carry Laplacian eigenvectors and some do not; read them with one laplacian_k")
    node_features, node_mask = _pad([g.node_features for g in samples])
    node_categories, _ = _pad([g.node_categories for g in samples])
    edge_index, edge_mask = _pad([g.edge_index.t() for g in samples])
    edge_features, _ = _pad([g.edge_features for g in samples])
    edge_categories, _ = _pad([g.edge_categories for g in samples])
    eigvecs = None
    if all(has_eig):
        _same_width(samples, "eigvecs")
        eigvecs, _ = _pad([g.eigvecs for g in samples])  # type: ignore[misc]
    return GraphBatch(
        node_features, node_categories, node_mask, edge_index, edge_features, edge_categories, edge_mask, eigvecs,
        [g.source for g in samples],
    )
