"""Thread counts chosen on purpose: the main process's intra-op threads versus DataLoader workers.

torch's default (one intra-op thread per core) is fastest on an idle machine, but every
DataLoader worker inherits it too: ``num_workers`` processes each running that many threads
oversubscribe the cores, and on a loaded machine training ran ~10x slower (issue 12). The rule:

- each DataLoader worker runs **1** intra-op thread (``worker_init`` in the loader), since a worker
  reads and tokenizes one sample at a time;
- the main process gets the usable cores (``os.sched_getaffinity``: what this process may run on,
  not the machine's total) divided among the local ``torchrun`` processes, minus one per worker,
  never below 1;
- ``threads`` set to an int in the config wins; with ``auto``, an ``OMP_NUM_THREADS`` the user
  exported wins over the rule (torch already honours it, so nothing is changed).

The rule cannot see other jobs on the machine. ``auto`` does not shrink for them, because the
thread count changes the arithmetic (measured here: a patch-embedding convolution's weight
gradient differs by up to 6e-5 between 1 and 2 threads) and a run resumed under another load
must repeat the same steps bitwise; instead, when the 1-minute load average already exceeds the usable cores, a warning says so and
names the fix (``threads: 1`` or ``OMP_NUM_THREADS=1``).
"""

from __future__ import annotations

import os
import warnings
from typing import Literal, NamedTuple, Union

import torch

Threads = Union[int, Literal["auto"]]

WORKER_THREADS = 1
"""Intra-op threads of each DataLoader worker."""

QUIET_BUSY_ENV = "METAFRAME_NO_BUSY_WARNING"
"""Set (to anything) to silence the busy-machine warning, e.g. in a test suite that loads the machine itself."""


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS reports one, else all)."""
    getaffinity = getattr(os, "sched_getaffinity", None)
    if getaffinity is not None:
        try:
            return max(1, len(getaffinity(0)))
        except OSError:
            pass
    return max(1, os.cpu_count() or 1)


def _env_threads() -> int | None:
    """OMP_NUM_THREADS as a positive int, or None when unset or not a positive int."""
    raw = os.environ.get("OMP_NUM_THREADS", "").strip()
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if value > 0 else None


class ThreadPlan(NamedTuple):
    """``(main, worker)`` threads ``plan_threads`` chose and why (``reason``: config threads, OMP_NUM_THREADS, auto)."""

    main: int
    worker: int
    reason: str


def plan_threads(num_workers: int, requested: Threads = "auto", processes: int = 1) -> ThreadPlan:
    """Main-process and per-worker intra-op threads for ``num_workers`` DataLoader workers.

    ``requested``: the config's ``threads`` (an int wins; ``auto`` follows the module's rule).
    ``processes``: training processes sharing this machine's cores (torchrun's local world size).
    """
    if requested != "auto":
        if isinstance(requested, bool) or not isinstance(requested, int) or requested < 1:
            raise ValueError(f"threads: expected a positive int or 'auto', found {requested!r}")
        return ThreadPlan(requested, WORKER_THREADS, "config threads")
    env = _env_threads()
    if env is not None:
        return ThreadPlan(env, WORKER_THREADS, "OMP_NUM_THREADS")
    share = max(1, usable_cores() // max(1, processes))
    return ThreadPlan(max(1, share - num_workers), WORKER_THREADS, "auto")


def _local_processes() -> int:
    try:
        return max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    except ValueError:
        return 1


def apply_threads(num_workers: int, requested: Threads = "auto") -> ThreadPlan:
    """Plan for this process (torchrun's local world size counted) and set the main process's
    intra-op threads (only when they differ from torch's current count)."""
    plan = plan_threads(num_workers, requested, _local_processes())
    if torch.get_num_threads() != plan.main:
        torch.set_num_threads(plan.main)
    note = busy_machine_note(plan)
    if note is not None:
        warnings.warn(note, RuntimeWarning, stacklevel=2)
    return plan


def busy_machine_note(plan: ThreadPlan) -> str | None:
    """A one-line warning when ``auto`` threads meet a machine other jobs already keep busy, else None."""
    getloadavg = getattr(os, "getloadavg", None)
    if plan.reason != "auto" or plan.main < 2 or getloadavg is None or os.environ.get(QUIET_BUSY_ENV):
        return None
    try:
        load = float(getloadavg()[0])
    except OSError:
        return None
    cores = usable_cores()
    if load <= cores:
        return None
    return (
        f"metaframe: this machine is busy (1-minute load {load:.1f} on {cores} usable cores) and threads: auto "
        f"runs {plan.main} intra-op threads; if steps are slow, set threads: 1 in the config or export OMP_NUM_THREADS=1 "
        "(measured ~10x faster under load, docs/benchmarks.md 'Thread counts')"
    )


def worker_init(worker_id: int) -> None:
    """``worker_init_fn`` of every engine DataLoader: the worker runs ``WORKER_THREADS`` threads.

    torch's own worker loop already sets its intra-op threads to 1; this says so on purpose and
    also caps numpy's BLAS / OpenMP pools (readers decoding with numpy), via threadpoolctl where
    it is installed (scikit-learn brings it).
    """
    del worker_id
    torch.set_num_threads(WORKER_THREADS)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(WORKER_THREADS)
