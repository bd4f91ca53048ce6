"""The one pattern a modality name must match, shared by manifests, validate and new-plugin."""

from __future__ import annotations

import fnmatch
import re

NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
NAME_RULE = "lower case letters, digits and '_', starting with a letter (e.g. 'point_cloud')"


def is_modality_name(name: str) -> bool:
    return re.match(NAME_PATTERN, name) is not None


def matching(names: list[str], pattern: str | None) -> list[str]:
    """``names`` filtered by a shell-style ``pattern`` (``"*ray*"``, ``"im*"``), case-sensitive; None keeps all."""
    return names if pattern is None else [n for n in names if fnmatch.fnmatchcase(n, pattern)]
