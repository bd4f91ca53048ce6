"""Fixtures of the engine tests: small generated data, tiny encoders."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from engine_helpers import write_image_folders  # noqa: E402


@pytest.fixture
def image_folders(tmp_path: Path) -> Path:
    return write_image_folders(tmp_path / "images")
