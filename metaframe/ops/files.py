"""The one file pre-check: missing, a directory, or empty is a ``ReadError`` naming the file.

``Modality.read`` runs it before every reader; call it yourself only where a file is opened
outside ``read`` (a dataset's index file, a public decode function).
"""

from __future__ import annotations

import os
from pathlib import Path

from metaframe_registry import ReadError


def require_file(path: str | os.PathLike[str], *, allow_dir: bool = False, what: str = "a file") -> Path:
    """``path`` as a ``Path`` if it is a non-empty file (or a directory when ``allow_dir``)."""
    p = Path(path)
    try:
        if not p.exists():
            raise ReadError(path, "file not found")
        if p.is_dir():
            if allow_dir:
                return p
            raise ReadError(path, f"is a directory, expected {what}")
        if p.stat().st_size == 0:
            raise ReadError(path, "file is empty (0 bytes)")
    except OSError as exc:
        raise ReadError(path, f"cannot be opened ({exc.strerror or exc})") from exc
    return p
