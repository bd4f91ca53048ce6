"""The graph plugin's hook module (entry point ``metaframe.plugins: graph``): torch-free."""

from __future__ import annotations

from metaframe_registry import hookimpl


@hookimpl
def metaframe_register_heads(register):  # type: ignore[no-untyped-def]
    register("node", "metaframe_graph.node_head:NodeHead", "per-node outputs of a graph, in node order")
