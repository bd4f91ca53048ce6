"""``metaframe demo``: every installed plugin that declares a ``demo`` task, one shared encoder.

``DemoTask`` (``task.py``) is what a plugin's ``demo()`` returns; ``run_demo`` (``runner.py``)
finds the tasks through the manifests and trains them. The core names no modality: a
third-party plugin's task runs exactly like a built-in one's (docs/demo.md). Importing this
package is light (no torch), so a plugin's ``demo.py`` can import ``DemoTask`` at the top.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from metaframe_registry import lazy_module

from .task import DemoTask

__all__ = ["DemoTask", "run_demo"]

__getattr__, __dir__ = lazy_module(__name__, {"run_demo": "metaframe.demo.runner"})


if TYPE_CHECKING:  # pragma: no cover
    from .runner import run_demo
