"""Two small JSON graphs of different sizes (continuous node features of width 2)."""

from __future__ import annotations

import json
from pathlib import Path


def write_examples(directory: Path) -> list[Path]:
    paths = []
    for i, n in enumerate([4, 7]):
        graph = {
            "nodes": [{"id": f"n{j}", "x": [j / n, 1.0 - j / n]} for j in range(n)],
            "edges": [{"source": f"n{j}", "target": f"n{(j + 1) % n}"} for j in range(n)],
        }
        path = directory / f"example_{i}.json"
        path.write_text(json.dumps(graph))
        paths.append(path)
    return paths
