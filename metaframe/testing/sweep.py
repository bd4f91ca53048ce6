"""Read every hostile file through a modality and classify what happened.

A hostile file must end one of two ways: it reads into a sample whose tensors are finite, or
the read raises ``metaframe_registry.ReadError`` whose message names the file. Anything else
is a failure: another exception type (``BadZipFile``, ``UnicodeDecodeError``, ``MemoryError``,
a bare ``ValueError``), a ReadError that does not say which file, ``None``, a sample holding
NaN or inf, a read slower than the time budget, or an exception raised inside a callback
that Python could only print ("Exception ignored in ...": a traceback on the user's stderr).

Reads run in-process (so any reader can be swept, with its real imports); the time of each
is measured, and in the main thread a hard limit interrupts a read stuck in Python code.
"""

from __future__ import annotations

import math
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from metaframe_registry import ReadError

from .hostile import HostileFile, hostile_files

TIME_BUDGET_S = 10.0
"""A read slower than this is a failure, even when it ends in ReadError."""

HARD_LIMIT_S = 60.0
"""A read still running after this is interrupted (main thread, POSIX; code in C may run on)."""


@dataclass(frozen=True)
class HostileOutcome:
    """What reading one hostile file did: ``status`` is ``read-error``, ``read-fine`` or ``fail``."""

    extension: str
    case: str
    path: Path
    status: str
    error: str
    """The exception type (or ``non-finite``, ``None``, ``slow``, ``unnamed-file``, ``unraisable``); "" if fine."""
    message: str
    """The first line of the exception message, or what is wrong with the sample."""
    seconds: float

    def line(self) -> str:
        return f"{self.extension} {self.case}: {self.error}: {self.message}"


class _Overtime(BaseException):
    """Raised into a read that passed ``HARD_LIMIT_S`` (a BaseException, so ``except Exception`` cannot eat it)."""


def non_finite(value: Any, where: str = "sample", depth: int = 0) -> str | None:
    """Where a floating tensor, array or float in ``value`` holds NaN or inf (through containers, 4 deep)."""
    if depth > 4 or isinstance(value, (str, bytes, bool, int)) or value is None:
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else where
    module = type(value).__module__.split(".")[0]
    if module == "torch" and hasattr(value, "is_floating_point"):
        import torch

        if (value.is_floating_point() or value.is_complex()) and not bool(torch.isfinite(value).all()):
            return f"{where} {tuple(value.shape)}"
        return None
    if module == "numpy" and hasattr(value, "dtype"):
        import numpy as np

        if value.dtype.kind in "fc" and not bool(np.isfinite(value).all()):
            return f"{where} {tuple(getattr(value, 'shape', ()))}"
        return None
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    elif hasattr(value, "__dict__") and not callable(value) and not isinstance(value, type):
        items = vars(value).items()
    else:
        return None
    for key, item in items:
        found = non_finite(item, f"{where}[{key!r}]", depth + 1)
        if found:
            return found
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else ""


def _unraisable(ignored: list[Any]) -> str:
    first = ignored[0]
    where = getattr(first.object, "__qualname__", None) or type(first.object).__name__
    return (
        f"{len(ignored)} exception(s) printed as 'Exception ignored in {where}' "
        f"(first: {type(first.exc_value).__name__}: {_first_line(first.exc_value)}); raise ReadError instead"
    )


def _with_hard_limit(read: Callable[[], Any], seconds: float) -> Any:
    usable = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
    if not usable or signal.getitimer(signal.ITIMER_REAL)[0] > 0:  # someone else's alarm (pytest-timeout): leave it
        return read()

    def overtime(signum: int, frame: Any) -> None:
        raise _Overtime(f"still reading after {seconds:g} s; interrupted")

    previous = signal.signal(signal.SIGALRM, overtime)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return read()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def classify(
    read: Callable[[Path], Any], hostile: HostileFile, path: Path, *, budget_s: float | None = None,
    hard_limit_s: float | None = None,
) -> HostileOutcome:
    """Read ``path`` (``hostile`` written there) and say how it ended (limits default to the module's)."""
    budget_s = TIME_BUDGET_S if budget_s is None else budget_s
    hard_limit_s = HARD_LIMIT_S if hard_limit_s is None else hard_limit_s

    def outcome(status: str, error: str, message: str) -> HostileOutcome:
        return HostileOutcome(hostile.extension, hostile.case, path, status, error, message, seconds)

    ignored: list[Any] = []  # exceptions Python printed as "Exception ignored in ..." (a traceback on stderr)
    hook, sys.unraisablehook = sys.unraisablehook, ignored.append
    start = time.perf_counter()
    try:
        sample = _with_hard_limit(lambda: read(path), hard_limit_s)
    except _Overtime as exc:
        seconds = time.perf_counter() - start
        return outcome("fail", "slow", str(exc))
    except ReadError as exc:
        seconds = time.perf_counter() - start
        if ignored:
            return outcome("fail", "unraisable", _unraisable(ignored))
        if seconds > budget_s:
            return outcome("fail", "slow", f"ReadError after {seconds:.1f} s (budget {budget_s:g} s)")
        named = [os.fspath(path), *(os.fspath(path.with_suffix(s)) for s in hostile.companions)]
        if not any(name in str(exc) for name in named):  # the file, or the companion it points to
            return outcome("fail", "unnamed-file", f"ReadError does not name the file {path.name}: {_first_line(exc)}")
        return outcome("read-error", "ReadError", _first_line(exc))
    except Exception as exc:  # noqa: BLE001 - which type escapes is the finding
        seconds = time.perf_counter() - start
        return outcome("fail", type(exc).__name__, _first_line(exc))
    finally:
        sys.unraisablehook = hook
    seconds = time.perf_counter() - start
    if ignored:
        return outcome("fail", "unraisable", _unraisable(ignored))
    if seconds > budget_s:
        return outcome("fail", "slow", f"read in {seconds:.1f} s (budget {budget_s:g} s)")
    if sample is None:
        return outcome("fail", "None", "the reader returned None instead of a sample or ReadError")
    where = non_finite(sample)
    if where:
        return outcome("fail", "non-finite", f"read fine but {where} holds NaN or inf")
    return outcome("read-fine", "", "")


def example_bytes(sources: list[Any]) -> dict[str, bytes]:
    """The first valid example file per extension (lower case), for the ``truncated`` cases."""
    found: dict[str, bytes] = {}
    for source in sources:
        if not isinstance(source, (str, os.PathLike)):
            continue
        path = Path(source)
        if len(os.fspath(path)) > 4096 or not path.is_file():
            continue
        suffix = path.suffix.lower()
        if suffix and suffix not in found and path.stat().st_size <= 2 * (1 << 20):
            found[suffix] = path.read_bytes()
    return found


def sweep_reader(subject: Any, *, seed: int = 0, budget_s: float | None = None) -> list[HostileOutcome]:
    """Generate the hostile files for ``subject``'s extensions and classify the read of each.

    ``subject`` is a ``ModalityUnderTest`` (or a modality name / manifest, looked up as the kit
    does). Reads go through ``Modality.read`` with the manifest's ``example_reader_options``.
    """
    from .subject import subject_for

    subject = subject_for(subject)
    try:
        examples = example_bytes(list(subject.sources))
    except Exception:  # noqa: BLE001 - no examples: no truncated cases (check_examples_read reports why)
        examples = {}
    folder = subject.directory / f"hostile-{seed}"
    outcomes = []
    for hostile in hostile_files(subject.manifest.extensions, examples, seed=seed):
        path = hostile.write(folder)
        outcomes.append(classify(subject.read, hostile, path, budget_s=budget_s))
    return outcomes
