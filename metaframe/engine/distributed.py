"""Multi-process training under ``torchrun``: process group, rank facts, reductions.

``torchrun --nproc-per-node N -m metaframe train CONFIG`` sets RANK / WORLD_SIZE / LOCAL_RANK;
gloo is used on CPU and nccl on GPU. Without those variables everything is a no-op.

A collective that waits longer than the config's ``distributed_timeout_s`` (a stalled rank) or
loses its peers (a killed supervisor) is a one-line ``DistributedError`` naming this rank,
not torch's 30-minute wait and a raw gloo / nccl traceback.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Iterator

import torch
import torch.distributed as dist

from .errors import RunError


class DistributedError(RunError):
    """A collective operation that timed out or lost the other processes (named by rank)."""


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world > 1


def init_from_env(device: torch.device, timeout_s: float | None = None) -> tuple[Dist, torch.device]:
    """Join the process group torchrun describes; on CUDA pin each process to its local GPU.

    ``timeout_s``: how long one collective may wait for the other processes (torch's default:
    30 minutes)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist(), device
    rank = int(os.environ["RANK"])
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        timeout = timedelta(seconds=timeout_s) if timeout_s is not None else None
        try:
            dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo", timeout=timeout)
        except (RuntimeError, ValueError) as exc:
            raise DistributedError(f"rank {rank} of {world}: cannot join the process group: {_one_line(exc)}") from None
    return Dist(rank, world, local), device


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 300 else text[:297] + "..."


def is_distributed_failure(exc: BaseException) -> bool:
    """A failure of the process group itself (timeout, lost peer), not of the model or data."""
    if isinstance(exc, dist.DistError):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and any(
        marker in text for marker in ("gloo", "Gloo", "NCCL", "Connection closed by peer", "Connection reset by peer", "Timed out")
    )


@contextmanager
def collective_errors(info: Dist, timeout_s: float | None = None) -> Iterator[None]:
    """Turn a process-group failure inside the block into one ``DistributedError`` line."""
    try:
        yield
    except Exception as exc:
        if not info.enabled or not is_distributed_failure(exc):
            raise
        text = str(exc)
        if "timed out" in text.lower() or "timeout" in text.lower():
            wait = f" after {timeout_s:g} s (distributed_timeout_s)" if timeout_s is not None else ""
            what = f"another process stopped answering: a collective operation timed out{wait}"
        else:
            what = "lost contact with the other processes (one died, or torchrun was stopped)"
        raise DistributedError(f"rank {info.rank} of {info.world}: {what} [{_one_line(exc)}]") from None


def shutdown(info: Dist) -> None:
    if info.enabled and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def reduce_sums(values: dict[str, float], info: Dist, device: torch.device) -> dict[str, float]:
    """Sum every value over the processes (metrics are reduced as sums and counts)."""
    if not info.enabled or not values:
        return values
    keys = sorted(values)
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return dict(zip(keys, t.tolist()))


def barrier(info: Dist) -> None:
    if info.enabled:
        dist.barrier()


def broadcast_object(obj: Any, info: Dist) -> Any:
    """Rank 0's ``obj`` on every process (picklable objects; tensors travel on the CPU)."""
    if not info.enabled:
        return obj
    box = [obj if info.is_main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]
