"""A cache of validated manifests, so listing plugins imports neither pydantic nor entry modules.

Only ``metaframe list-modalities`` reads it; everything that *uses* a modality loads and
validates its manifest afresh. An entry is keyed by (distribution, version, entry-point value,
path, size and mtime of the entry module file) and by the registry's own schema files, so an
upgrade, a reinstall or an edit of the entry module invalidates it. Only manifests that
validated are stored; a broken plugin is retried (and shown as broken) every time. The file is
written atomically (a temporary file, then ``os.replace``); any problem reading it is a miss.
Location: ``$METAFRAME_CACHE_DIR`` (empty: no cache), else ``$XDG_CACHE_HOME/metaframe``,
else ``~/.cache/metaframe``.
"""

from __future__ import annotations

import json
import os
from importlib import machinery
from pathlib import Path
from typing import Any

CACHE_ENV = "METAFRAME_CACHE_DIR"
FILE_NAME = "manifests-v1.json"
_SCHEMA_FILES = ("manifest.py", "recipe.py", "names.py", "discovery.py")


def cache_dir(env: dict[str, str] | None = None) -> Path | None:
    environ = os.environ if env is None else env
    explicit = environ.get(CACHE_ENV)
    if explicit is not None:
        return Path(explicit) if explicit.strip() else None
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "metaframe"


def _stamp(path: Path) -> str | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return f"{path}:{st.st_size}:{st.st_mtime_ns}"


def module_file(module: str) -> Path | None:
    """The source file of ``module`` found without importing it or its parent packages."""
    parts = module.split(".")
    spec = machinery.PathFinder.find_spec(parts[0])
    if spec is None:
        import importlib.util

        try:
            spec = importlib.util.find_spec(parts[0])  # editable installs use their own finder
        except (ImportError, ValueError):
            return None
    if spec is None:
        return None
    if len(parts) == 1:
        return Path(spec.origin) if spec.origin and spec.origin not in ("built-in", "frozen") else None
    for location in spec.submodule_search_locations or []:
        base = Path(location, *parts[1:-1])
        for candidate in (base / parts[-1] / "__init__.py", base / f"{parts[-1]}.py"):
            if candidate.is_file():
                return candidate
    return None


def _folder_stamp(folder: Path) -> str:
    """The newest mtime and the count of the ``.py`` files directly in ``folder``.

    A manifest is often assembled from sibling modules of the entry module (``_manifest.py``,
    ``recipe.py``); editing one of those in an editable install must invalidate the entry too.
    """
    newest, count = 0, 0
    try:
        with os.scandir(folder) as it:
            for entry in it:
                if entry.name.endswith(".py"):
                    newest, count = max(newest, entry.stat().st_mtime_ns), count + 1
    except OSError:
        return "?"
    return f"{count}:{newest}"


def entry_key(distribution: str | None, version: str | None, value: str) -> str | None:
    """The cache key of one entry point, or None when its module file cannot be found."""
    path = module_file(value.partition(":")[0])
    stamp = _stamp(path) if path is not None else None
    if path is None or stamp is None:
        return None
    return f"{distribution}|{version}|{value}|{stamp}|{_folder_stamp(path.parent)}"


class ManifestCache:
    """Validated manifest dumps by entry key, loaded once and saved atomically when changed."""

    def __init__(self, directory: Path | None) -> None:
        self.path = directory / FILE_NAME if directory is not None else None
        here = Path(__file__).parent
        self._schema = "|".join(str(_stamp(here / name)) for name in _SCHEMA_FILES)
        self._entries: dict[str, Any] = {}
        self._dirty = False
        if self.path is not None:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                if data.get("schema") == self._schema and isinstance(data.get("entries"), dict):
                    self._entries = data["entries"]
            except (OSError, ValueError, AttributeError):
                pass

    def get(self, key: str | None) -> dict[str, Any] | None:
        """The stored ``{"fields": {...}, "warning": ...}`` of ``key``; anything malformed is a miss."""
        hit = self._entries.get(key) if key is not None else None
        if not isinstance(hit, dict) or not isinstance(hit.get("fields"), dict):
            return None
        if hit["fields"].get("name") is None or not isinstance(hit.get("warning"), (str, type(None))):
            return None
        return hit

    def put(self, key: str | None, value: dict[str, Any]) -> None:
        if key is not None and self.path is not None:
            self._entries[key] = value
            self._dirty = True

    def save(self, keep: set[str]) -> None:
        """Write the entries named by ``keep`` (what is installed now), if anything changed."""
        if self.path is None:
            return
        stale = set(self._entries) - keep
        if not self._dirty and not stale:
            return
        import tempfile

        entries = {k: v for k, v in self._entries.items() if k in keep}
        tmp = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".manifests-", dir=self.path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"schema": self._schema, "entries": entries}, fh)
            os.replace(tmp, self.path)
        except OSError:  # a read-only home is not an error: the next listing validates again
            if tmp is not None and os.path.exists(tmp):
                os.unlink(tmp)
