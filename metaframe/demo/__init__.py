"""``metaframe demo``: every installed plugin that declares a ``demo`` task, one shared encoder.

``DemoTask`` (``task.py``) is what a plugin's ``demo()`` returns; ``run_demo`` (``runner.py``)
finds the tasks through the manifests and trains them. The core names no modality: a
third-party plugin's task runs exactly like a built-in one's (docs/demo.md). Importing this
package is light (no torch), so a plugin's ``demo.py`` can import ``DemoTask`` at the top.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .task import DemoTask

__all__ = ["DemoTask", "run_demo"]


def __getattr__(name: str) -> Any:
    if name == "run_demo":
        from .runner import run_demo

        return run_demo
    raise AttributeError(f"module 'metaframe.demo' has no attribute {name!r}")


if TYPE_CHECKING:  # pragma: no cover
    from .runner import run_demo
