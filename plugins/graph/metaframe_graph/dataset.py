"""Many graphs in one file: a JSON list (or ``{"graphs": [...]}``) or JSON Lines, each with a target."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from metaframe.ops import read_text, require_file
from metaframe_registry import ReadError

from .graph import Graph
from .reader import read_graph


def graph_dataset(path: str | Path, target: str = "y", **read_options: Any) -> list[tuple[Graph, Any]]:
    """``(graph, graph[target])`` pairs; a graph without the target field is an error naming it."""
    p = require_file(path, what="a JSON / JSON Lines file of graphs")
    text = read_text(p, "a JSON / JSON Lines file of graphs")
    if not text.strip():
        raise ReadError(p, "file is empty")
    try:
        if p.suffix.lower() == ".jsonl":
            items = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            data = json.loads(text)
            items = data["graphs"] if isinstance(data, dict) and "graphs" in data else data
    except json.JSONDecodeError as exc:
        raise ReadError(p, f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from exc
    except RecursionError as exc:
        raise ReadError(p, "JSON nested too deeply to hold graphs") from exc
    except ValueError as exc:  # e.g. an integer beyond Python's 4300-digit conversion limit
        raise ReadError(p, f"malformed JSON ({exc})") from exc
    if not isinstance(items, list):
        raise ReadError(p, "expected a list of graphs (or {'graphs': [...]})")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or target not in item:
            raise ReadError(p, f"graph {i} has no {target!r} field (the target)")
        try:
            graph = read_graph(item, **read_options)
        except ReadError as exc:
            raise ReadError(p, f"graph {i}: {exc.problem}") from exc
        out.append((graph, item[target]))
    return out
