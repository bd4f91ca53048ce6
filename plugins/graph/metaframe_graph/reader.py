"""One graph (file or object) → ``Graph``: features picked by attribute name, ids computed.

Continuous attributes (number or list of numbers per node / edge) are concatenated in the
order named; categorical attributes (non-negative integers, or lists of them) become int64
columns. An attribute is used when any node (edge) has it, and then every one must.
"""

from __future__ import annotations

import math
import os
from typing import Any, Sequence

import numpy as np
import torch

from metaframe.ops import check_limit
from metaframe.ops.guards import FLOAT32_MAX
from metaframe_registry import ReadError

from .formats import load_source
from .graph import Graph, RawGraph
from .laplacian import laplacian_eigvecs


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return list(value)
    if hasattr(value, "tolist"):
        out = value.tolist()
        return out if isinstance(out, list) else [out]
    return [value]


def _columns(
    items: list[dict[str, Any]], names: Sequence[str], kind: str, categorical: bool, source: Any
) -> np.ndarray:
    """``[len(items), width]`` from the named attributes (float64, or int64 when categorical)."""
    blocks = []
    for name in names:
        have = [name in a for a in items]
        if not any(have):
            continue
        if not all(have):
            raise ReadError(source, f"{kind} {have.index(False)} has no attribute {name!r}, which other {kind}s have")
        rows = [_as_list(a[name]) for a in items]
        width = len(rows[0])
        for i, r in enumerate(rows):
            if len(r) != width:
                raise ReadError(source, f"{kind} {i}: attribute {name!r} has {len(r)} values, {kind} 0 has {width}")
            for v in r:
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    raise ReadError(source, f"{kind} {i}: attribute {name!r} holds {v!r}, expected a number")
                if categorical and (not float(v).is_integer() or not 0 <= v < 2**62):
                    raise ReadError(source, f"{kind} {i}: categorical attribute {name!r} holds {v!r}, expected an integer >= 0")
                if not categorical and not (math.isfinite(v) and abs(v) <= FLOAT32_MAX):
                    raise ReadError(
                        source, f"{kind} {i}: attribute {name!r} holds {v!r}, expected a finite number within float32 range"
                    )
        blocks.append(np.asarray(rows, dtype=np.int64 if categorical else np.float64).reshape(len(items), width))
    if not blocks:
        return np.zeros((len(items), 0), dtype=np.int64 if categorical else np.float64)
    return np.concatenate(blocks, axis=1)


def build_graph(
    raw: RawGraph,
    source: Any,
    node_features: Sequence[str],
    node_categories: Sequence[str],
    edge_features: Sequence[str],
    edge_categories: Sequence[str],
    laplacian_k: int | None,
    max_nodes: int | None = None,
    max_edges: int | None = None,
) -> Graph:
    n = len(raw.node_ids)
    if n == 0:
        raise ReadError(source, "graph has no nodes")
    check_limit(n, max_nodes, source, "nodes", "max_nodes")
    check_limit(len(raw.edges), max_edges, source, "edges", "max_edges")
    edges = np.asarray(raw.edges, dtype=np.int64).reshape(-1, 2)
    eig = torch.from_numpy(laplacian_eigvecs(n, edges, laplacian_k, source)) if laplacian_k else None
    return Graph(
        num_nodes=n,
        edge_index=torch.from_numpy(np.ascontiguousarray(edges.T)),
        node_features=torch.from_numpy(_columns(raw.node_attrs, node_features, "node", False, source)).float(),
        node_categories=torch.from_numpy(_columns(raw.node_attrs, node_categories, "node", True, source)),
        edge_features=torch.from_numpy(_columns(raw.edge_attrs, edge_features, "edge", False, source)).float(),
        edge_categories=torch.from_numpy(_columns(raw.edge_attrs, edge_categories, "edge", True, source)),
        eigvecs=eig,
        node_ids=list(raw.node_ids),
        source=os.fspath(source) if isinstance(source, (str, os.PathLike)) else None,
    )


def _names(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def read_graph(
    source: Any,
    node_features: str | Sequence[str] | None = "x",
    node_categories: str | Sequence[str] | None = "type",
    edge_features: str | Sequence[str] | None = "x",
    edge_categories: str | Sequence[str] | None = "type",
    laplacian_k: int | None = 16,
    node_table: str | None = None,
    max_nodes: int | None = 100_000,
    max_edges: int | None = 1_000_000,
) -> Graph:
    """Read one graph: a ``.json`` / ``.edgelist`` / ``.edges`` / ``.graphml`` / ``.gml`` file,
    a networkx graph, a dict in the JSON layout, or a torch_geometric ``Data``.

    ``node_features`` / ``edge_features``: continuous attribute names (default ``x``);
    ``node_categories`` / ``edge_categories``: categorical attribute names (default ``type``);
    ``laplacian_k``: eigenvectors kept as node ids (None: skip, for ``identifiers='orf'``);
    ``node_table``: the CSV of node features for an edge list.
    ``max_nodes`` / ``max_edges``: larger graphs are a ``ReadError`` (None: no limit); a declared
    ``num_nodes`` is checked before anything is allocated for it.
    """
    raw = load_source(source, node_table, _names(node_categories), max_nodes)
    return build_graph(
        raw, source, _names(node_features), _names(node_categories), _names(edge_features), _names(edge_categories),
        laplacian_k, max_nodes, max_edges,
    )
