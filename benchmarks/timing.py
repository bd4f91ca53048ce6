"""Best-of-N wall time, shared by the benchmark scripts (noise on a shared machine only adds time)."""

from __future__ import annotations

import time
from typing import Any, Callable


def best_of(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    """(fastest of ``repeat`` calls in seconds, the last call's result)."""
    best, result = float("inf"), None
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def best_time(fn: Callable[[], Any], repeat: int = 1) -> float:
    """Fastest of ``repeat`` calls, in seconds."""
    return best_of(fn, repeat)[0]
