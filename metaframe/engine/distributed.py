"""Multi-process training under ``torchrun``: process group, rank facts, reductions.

``torchrun --nproc-per-node N -m metaframe train CONFIG`` sets RANK / WORLD_SIZE / LOCAL_RANK;
gloo is used on CPU and nccl on GPU. Without those variables everything is a no-op.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


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


def init_from_env(device: torch.device) -> tuple[Dist, torch.device]:
    """Join the process group torchrun describes; on CUDA pin each process to its local GPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist(), device
    rank = int(os.environ["RANK"])
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return Dist(rank, world, local), device


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
