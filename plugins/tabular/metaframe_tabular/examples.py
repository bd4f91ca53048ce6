"""Small example rows for the conformance kit (matching EXAMPLE_STATE in the manifest)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def write_examples(directory: Path) -> list[dict[str, Any]]:
    return [
        {"age": 31, "job": "nurse", "hours": 40.0},
        {"age": None, "job": "pilot", "hours": 35.5},  # a missing value and an unseen category
    ]
