"""``run_cli``: the installed ``metaframe`` command run as a user would (a module of its own, so a
test imports it by a name no other folder's conftest shadows)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_cli(*args: str, env_extra: dict[str, str] | None = None, pythonpath: Path | None = None, timeout: int = 120):
    """Run the installed ``metaframe`` command as a user would, in a subprocess."""
    env = dict(os.environ)
    env.pop("METAFRAME_LOAD_PLUGINS", None)
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), env.get("PYTHONPATH", "")]))
    env.update(env_extra or {})
    return subprocess.run(
        [str(Path(sys.executable).parent / "metaframe"), *args], capture_output=True, text=True, env=env, timeout=timeout
    )
