"""One training run in memory: what ``setup`` builds and the epoch, validation and saving steps share."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable

import torch

from metaframe.model import MetaModel
from metaframe.modality import Modality

from . import checkpoint as ckpt_io
from .config import TrainConfig
from .data import Example
from .distributed import Dist
from .loader import Collator, EpochBatchSampler, ExampleDataset
from .recipes import ResolvedConfig
from .shard_data import ShardEpochPlan


class Session:
    """The run's config, data, model and optimisation state (attributes set by ``setup.open_session``)."""

    cfg: TrainConfig
    resolved: ResolvedConfig | None
    info: Dist
    device: torch.device
    quiet: bool
    callback: Callable[[dict[str, Any]], None] | None
    run_dir: Path
    resume_from: Path | None
    train_examples: list[Example]
    val_examples: list[Example]
    label_maps: dict[str, list[Any]]
    shapes: dict[str, tuple[int, ...]]
    encoder: torch.nn.Module
    identity: dict[str, Any]
    model: MetaModel
    net: torch.nn.Module
    modalities: dict[str, Modality]
    train_set: ExampleDataset
    val_set: ExampleDataset
    collate: Collator
    fitted: dict[str, dict[str, Any]]
    facts: ckpt_io.RunFacts
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    scaler: torch.amp.GradScaler | None
    sampler: EpochBatchSampler | ShardEpochPlan
    steps_per_epoch: int
    total_steps: int
    global_step: int
    state: dict[str, Any]
    config_changes: list[tuple[str, Any, Any]]

    def say(self, message: str) -> None:
        if not self.quiet:
            print(message, file=sys.stderr)

    @property
    def done(self) -> bool:
        return self.global_step >= self.total_steps


def fresh_state() -> dict[str, Any]:
    """The position a run starts from (saved in every checkpoint's state.json)."""
    return {"epoch": 0, "batch": 0, "best_metric": None, "best_step": None, "epoch_loss_sum": 0.0, "epoch_count": 0.0}
