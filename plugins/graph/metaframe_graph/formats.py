"""Graph sources → ``RawGraph``: JSON, edge list + node table, GraphML / GML, networkx, PyG.

JSON layout (node-link, as networkx writes it, also accepted):
``{"directed": false, "nodes": [{"id": "a", "x": [0.1, 2.0], "type": 3}, ...],
"edges": [{"source": "a", "target": "b", "x": [1.0]}, ...]}`` (``"links"`` for ``"edges"``;
nodes without ``id`` are numbered 0..n-1; an edge may also be a ``[source, target]`` pair), or
the array layout ``{"num_nodes": 3, "edge_index": [[0, 1], [1, 2]], "node_features": [[...]],
"edge_features": [[...]]}``. Edges naming a node that is not listed are an error.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any, Hashable

from metaframe.ops import check_limit, read_text, require_file
from metaframe_registry import ReadError

from .graph import RawGraph


def _index(ids: list[Any], source: Any) -> dict[Any, int]:
    index: dict[Any, int] = {}
    for i, node in enumerate(ids):
        key = _key(node)
        if not isinstance(key, Hashable):
            raise ReadError(source, f"node {i} has id {node!r}; expected a text or integer id")
        if key in index:
            raise ReadError(source, f"node id {node!r} appears twice (nodes {index[key]} and {i})")
        index[key] = i
    return index


def _key(node: Any) -> Any:
    """Ids compare as text when they come from text files, so 1 and "1" are one node."""
    return str(node) if isinstance(node, (int, str)) and not isinstance(node, bool) else node


def _endpoint(index: dict[Any, int], node: Any, where: str, source: Any) -> int:
    key = _key(node)
    if not isinstance(key, Hashable) or key not in index:
        raise ReadError(source, f"{where} refers to node {node!r}, which is not among the {len(index)} nodes")
    return index[key]


def from_mapping(data: Any, source: Any, max_nodes: int | None = None) -> RawGraph:
    """The JSON layouts above, already parsed; ``max_nodes`` bounds a declared ``num_nodes``."""
    if not isinstance(data, dict):
        raise ReadError(source, f"expected a JSON object with 'nodes' and 'edges', found {type(data).__name__}")
    if "edge_index" in data:
        return _from_arrays(data, source, max_nodes)
    if "nodes" not in data:
        raise ReadError(source, f"JSON graph has no 'nodes' list (keys: {sorted(data)})")
    nodes = data["nodes"]
    edges = data.get("edges", data.get("links", []))
    if not isinstance(nodes, list) or not isinstance(edges, list):
        raise ReadError(source, "'nodes' and 'edges' must be lists")
    ids: list[Any] = []
    attrs: list[dict[str, Any]] = []
    for i, node in enumerate(nodes):
        if isinstance(node, dict):
            ids.append(node.get("id", i))
            attrs.append({k: v for k, v in node.items() if k != "id"})
        else:
            ids.append(node)
            attrs.append({})
    index = _index(ids, source)
    pairs: list[tuple[int, int]] = []
    edge_attrs: list[dict[str, Any]] = []
    for j, edge in enumerate(edges):
        if isinstance(edge, dict):
            if "source" not in edge or "target" not in edge:
                raise ReadError(source, f"edge {j} needs 'source' and 'target' (found keys {sorted(edge)})")
            u, v = edge["source"], edge["target"]
            edge_attrs.append({k: val for k, val in edge.items() if k not in ("source", "target", "key")})
        elif isinstance(edge, (list, tuple)) and len(edge) == 2:
            u, v = edge
            edge_attrs.append({})
        else:
            raise ReadError(source, f"edge {j} is {edge!r}; expected {{'source': ..., 'target': ...}} or [source, target]")
        pairs.append((_endpoint(index, u, f"edge {j}", source), _endpoint(index, v, f"edge {j}", source)))
    return RawGraph(ids, attrs, pairs, edge_attrs, bool(data.get("directed", False)))


def _node_count(value: Any, source: Any) -> int:
    """A declared ``num_nodes``: a whole number >= 0 (a bool, text or 2.5 is refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not float(value).is_integer() or value < 0:
        raise ReadError(source, f"'num_nodes' is {value!r}, expected a whole number >= 0")
    return int(value)


def _from_arrays(data: dict[str, Any], source: Any, max_nodes: int | None = None) -> RawGraph:
    ei = data["edge_index"]
    if not (isinstance(ei, list) and len(ei) == 2 and all(isinstance(r, list) for r in ei) and len(ei[0]) == len(ei[1])):
        raise ReadError(source, "'edge_index' must be two lists of equal length [[sources...], [targets...]]")
    feats = data.get("node_features")
    n = data.get("num_nodes", len(feats) if isinstance(feats, list) else None)
    if n is None:
        ends = [*ei[0], *ei[1]]
        bad = next((v for v in ends if isinstance(v, bool) or not isinstance(v, int)), None)
        if bad is not None:
            raise ReadError(source, f"'edge_index' holds {bad!r}, expected node positions (integers)")
        n = 1 + max(ends, default=-1)
    n = _node_count(n, source)
    check_limit(n, max_nodes, source, "nodes ('num_nodes')", "max_nodes")  # before any per-node allocation
    attrs: list[dict[str, Any]] = [{} for _ in range(n)]
    if isinstance(feats, list):
        if len(feats) != n:
            raise ReadError(source, f"'node_features' has {len(feats)} rows for {n} nodes")
        for a, f in zip(attrs, feats):
            a["x"] = f
    for name, key in (("node_categories", "type"),):
        if isinstance(data.get(name), list):
            for a, c in zip(attrs, data[name]):
                a[key] = c
    pairs = []
    for j, (u, v) in enumerate(zip(*ei)):
        for node in (u, v):
            if not isinstance(node, int) or not 0 <= node < n:
                raise ReadError(source, f"edge {j} refers to node {node!r}, outside 0..{n - 1}")
        pairs.append((u, v))
    edge_attrs: list[dict[str, Any]] = [{} for _ in pairs]
    for name, key in (("edge_features", "x"), ("edge_categories", "type")):
        values = data.get(name)
        if isinstance(values, list):
            if len(values) != len(pairs):
                raise ReadError(source, f"'{name}' has {len(values)} rows for {len(pairs)} edges")
            for a, f in zip(edge_attrs, values):
                a[key] = f
    return RawGraph(list(range(n)), attrs, pairs, edge_attrs, bool(data.get("directed", False)))


def load_json(path: Path, max_nodes: int | None = None) -> RawGraph:
    try:
        data = json.loads(read_text(path, "a JSON graph"))
    except json.JSONDecodeError as exc:
        raise ReadError(path, f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from exc
    except RecursionError as exc:
        raise ReadError(path, "JSON nested too deeply to be a graph") from exc
    except ValueError as exc:  # e.g. an integer beyond Python's 4300-digit conversion limit
        raise ReadError(path, f"malformed JSON ({exc})") from exc
    return from_mapping(data, path, max_nodes)


def _rows(path: Path, text: str) -> tuple[list[list[str]], list[int]]:
    """Non-empty, non-comment rows split on commas or whitespace, with their line numbers."""
    rows, lines = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith(("#", "%")):
            continue
        rows.append([t.strip() for t in line.split(",")] if "," in line else line.split())
        lines.append(number)
    return rows, lines


def _floats(values: list[str], path: Path, line: int) -> list[float]:
    try:
        return [float(v) for v in values]
    except ValueError as exc:
        raise ReadError(path, f"line {line}: expected numbers, found {values} ({exc})") from exc


def load_node_table(path: Path, categories: list[str]) -> tuple[list[str], list[dict[str, Any]]]:
    """CSV with a header; first column the node id, other columns features (``categories`` named ones are integers)."""
    require_file(path, what="a node table (CSV)")  # an option's file: Modality.read checks only the source
    text = read_text(path, "a node table (CSV)")
    if not text.strip():
        raise ReadError(path, "node table is empty")
    reader = csv.reader(io.StringIO(text))
    rows = [(i, r) for i, r in enumerate(reader, start=1) if r and any(c.strip() for c in r)]
    header = [h.strip() for h in rows[0][1]]
    ids: list[str] = []
    attrs: list[dict[str, Any]] = []
    for line, row in rows[1:]:
        if len(row) != len(header):
            raise ReadError(path, f"line {line} has {len(row)} fields, the header has {len(header)} ({', '.join(header)})")
        ids.append(row[0].strip())
        a: dict[str, Any] = {}
        continuous: list[float] = []
        for name, value in zip(header[1:], row[1:]):
            if name in categories:
                try:
                    a[name] = int(value)
                except ValueError as exc:
                    raise ReadError(path, f"line {line}: categorical column {name!r} holds {value!r}, expected an integer") from exc
            else:
                continuous.extend(_floats([value], path, line))
        if continuous:
            a["x"] = continuous
        attrs.append(a)
    if not ids:
        raise ReadError(path, "node table has a header but no rows")
    return ids, attrs


def load_edgelist(path: Path, node_table: str | os.PathLike[str] | None, categories: list[str]) -> RawGraph:
    """``source target [edge features...]`` per line; nodes from ``node_table`` (CSV) when given.

    Without a table, ``<stem>.nodes.csv`` beside the edge list is used when it exists; else
    the nodes are the ids seen in the edges, in order of first appearance (no features).
    """
    rows, lines = _rows(path, read_text(path, "an edge list ('source target' per line)"))
    if node_table is None:
        sibling = path.with_name(path.stem + ".nodes.csv")
        node_table = sibling if sibling.exists() else None
    if node_table is not None:
        table = Path(node_table)
        ids, attrs = load_node_table(table, categories)
        index = _index(ids, table)
    else:
        ids, attrs, index = [], [], {}
    width = len(rows[0]) if rows else 2
    pairs: list[tuple[int, int]] = []
    edge_attrs: list[dict[str, Any]] = []
    for row, line in zip(rows, lines):
        if len(row) != width:
            raise ReadError(path, f"line {line} has {len(row)} fields, the first edge line has {width}")
        if width < 2:
            raise ReadError(path, f"line {line}: expected 'source target [features...]'")
        ends = []
        for node in row[:2]:
            if node not in index:
                if node_table is not None:
                    raise ReadError(path, f"line {line}: edge refers to node {node!r}, which is not in the node table {node_table}")
                index[node] = len(ids)
                ids.append(node)
                attrs.append({})
            ends.append(index[node])
        pairs.append((ends[0], ends[1]))
        edge_attrs.append({"x": _floats(row[2:], path, line)} if width > 2 else {})
    return RawGraph(ids, attrs, pairs, edge_attrs, False)


def from_networkx(graph: Any, source: Any) -> RawGraph:
    ids = list(graph.nodes)
    attrs = [dict(graph.nodes[n]) for n in ids]
    index = {n: i for i, n in enumerate(ids)}
    pairs, edge_attrs = [], []
    for u, v, data in graph.edges(data=True):
        pairs.append((index[u], index[v]))
        edge_attrs.append(dict(data))
    return RawGraph(ids, attrs, pairs, edge_attrs, bool(graph.is_directed()))


def load_networkx_file(path: Path) -> RawGraph:
    import networkx as nx

    try:
        graph = nx.read_graphml(path) if path.suffix.lower() == ".graphml" else nx.read_gml(path, label=None)
    except Exception as exc:  # noqa: BLE001 - networkx raises many kinds for bad files
        kind = "GraphML" if path.suffix.lower() == ".graphml" else "GML"
        raise ReadError(path, f"not a valid {kind} file ({type(exc).__name__}: {exc})") from exc
    return from_networkx(graph, path)


def from_pyg(data: Any, source: Any, max_nodes: int | None = None) -> RawGraph:
    """A torch_geometric ``Data`` (duck-typed: ``edge_index``, ``num_nodes``, optional ``x`` / ``edge_attr``)."""
    ei = data.edge_index
    n = _node_count(int(data.num_nodes), source)
    check_limit(n, max_nodes, source, "nodes (num_nodes)", "max_nodes")
    x = getattr(data, "x", None)
    ea = getattr(data, "edge_attr", None)
    attrs: list[dict[str, Any]] = [{} for _ in range(n)]
    if x is not None:
        rows = x.detach().cpu().tolist()
        key = "x" if x.is_floating_point() else "type"
        for a, r in zip(attrs, rows):
            a[key] = r
    pairs = [tuple(p) for p in ei.detach().cpu().t().tolist()]
    for j, (u, v) in enumerate(pairs):
        if not (0 <= u < n and 0 <= v < n):
            raise ReadError(source, f"edge {j} refers to node {u if not 0 <= u < n else v}, outside 0..{n - 1}")
    edge_attrs: list[dict[str, Any]] = [{} for _ in pairs]
    if ea is not None:
        key = "x" if ea.is_floating_point() else "type"
        for a, r in zip(edge_attrs, ea.detach().cpu().tolist()):
            a[key] = r
    return RawGraph(list(range(n)), attrs, pairs, edge_attrs, True)  # type: ignore[arg-type]


def load_source(source: Any, node_table: Any, categories: list[str], max_nodes: int | None = None) -> RawGraph:
    """``max_nodes`` bounds a count a source declares (JSON ``num_nodes``, PyG), before allocation."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)  # missing / directory / empty: checked by Modality.read (metaframe.ops.require_file)
        suffix = path.suffix.lower()
        if suffix == ".json":
            return load_json(path, max_nodes)
        if suffix in (".edgelist", ".edges"):
            return load_edgelist(path, node_table, categories)
        if suffix in (".graphml", ".gml"):
            return load_networkx_file(path)
        raise ReadError(path, f"unknown graph extension {suffix!r} (expected .json, .edgelist, .edges, .graphml or .gml)")
    if hasattr(source, "edge_index") and hasattr(source, "num_nodes"):
        return from_pyg(source, source, max_nodes)
    if hasattr(source, "nodes") and hasattr(source, "edges") and hasattr(source, "is_directed"):
        return from_networkx(source, source)
    if isinstance(source, dict):
        return from_mapping(source, source, max_nodes)
    raise ReadError(source, "expected a graph file, a networkx graph, a dict in the JSON layout or a torch_geometric Data")
