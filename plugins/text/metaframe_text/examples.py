"""Small example texts for the conformance kit and the docs: different lengths, in memory."""

from __future__ import annotations

from pathlib import Path


def write_examples(directory: Path) -> list[str]:
    return ["a photo of a cat", "a much longer sentence about a dog that runs across the green field"]
