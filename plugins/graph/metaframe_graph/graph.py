"""The values a graph passes through: a raw parsed graph, and the tensor sample."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass
class RawGraph:
    """What a file format yields: node ids in order, attributes, edges as node positions."""

    node_ids: list[Any]
    node_attrs: list[dict[str, Any]]
    edges: list[tuple[int, int]]
    edge_attrs: list[dict[str, Any]]
    directed: bool = False


@dataclass
class Graph:
    """One graph, ready to collate. ``edge_index`` ``[2, E]`` holds node positions 0..n-1.

    Continuous features are float ``[n, F]`` / ``[E, F]``, categorical ones int64 ``[n, C]`` /
    ``[E, C]`` (widths may be 0). ``eigvecs`` ``[n, k]``: Laplacian eigenvectors, smallest
    eigenvalue first, zero-padded when n < k (None when not computed).
    """

    num_nodes: int
    edge_index: torch.Tensor
    node_features: torch.Tensor
    node_categories: torch.Tensor
    edge_features: torch.Tensor
    edge_categories: torch.Tensor
    eigvecs: torch.Tensor | None = None
    node_ids: list[Any] = field(default_factory=list)
    source: str | None = None  # the file it was read from, for errors raised after reading

    @property
    def num_edges(self) -> int:
        return int(self.edge_index.shape[1])
