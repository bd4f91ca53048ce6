"""``metaframe.train``: tokenizers, embeddings and heads learn; the frozen encoder never changes.

One loop serves one process and ``torchrun`` (DistributedDataParallel). The steps live in
their own modules: ``setup`` (data, model, fitting via ``fitting``, optimiser, resume),
``epoch`` (the optimiser steps), ``validation``, ``rundir`` (readable files) and ``checkpoint``.
Only rank 0 writes the run directory.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from metaframe.atomic import atomic_write_text

from . import checkpoint as ckpt_io
from .build import check_names, resolve_device
from .changes import CHANGES_FILE, describe, record_changes
from .config import TrainConfig, load_config, parse_config
from .distributed import barrier, collective_errors, init_from_env, reduce_sums, shutdown
from .epoch import run_epoch
from .errors import RunError
from .loader import make_loader
from .recipes import resolve_config
from .rundir import append_record, finish_files, start_files
from .session import Session
from .shard_data import ShardEpochPlan, make_shard_loader
from .setup import open_session
from .validation import validate


HIGHER_IS_BETTER = ("val_accuracy", "val_mean_recall@1")
"""Monitored metrics where more is better (ties go to the lower validation loss)."""

PARAMETERS_FILE = "parameters.json"
"""Trainable parameters per part (``MetaModel.parameter_counts``), written when the run starts."""


@dataclass
class TrainResult:
    """Where the run lives and how it ended."""

    run_dir: Path
    last_checkpoint: Path | None
    best_checkpoint: Path | None
    steps: int
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def final(self) -> dict[str, Any]:
        return self.history[-1] if self.history else {}


def coerce_config(config: TrainConfig | dict[str, Any] | str | Path) -> TrainConfig:
    if isinstance(config, TrainConfig):
        return config
    if isinstance(config, dict):
        return parse_config(config, "config")
    return load_config(config)


def train(
    config: TrainConfig | dict[str, Any] | str | Path,
    *,
    resume: str | Path | None = None,
    quiet: bool = False,
    encoder: torch.nn.Module | None = None,
    train_data: Sequence[Any] | None = None,
    val_data: Sequence[Any] | None = None,
    callback: Callable[[dict[str, Any]], None] | None = None,
    allow_config_change: bool = False,
) -> TrainResult:
    """Train as ``config`` says and return the run's result.

    ``resume``: a run directory to continue from its last complete checkpoint. ``encoder``: a
    shared FrozenEncoder instance to use instead of building one from the config.
    ``train_data`` / ``val_data``: in-memory ``(source, target)`` pairs instead of ``data.train``
    (an align run: one dict ``{modality: source}`` per pair or tuple).
    ``callback`` is called after every optimiser step with ``{"step", "epoch", "loss"}``.
    A resumed run's config may differ from the run's own only in ``changes.RESUMABLE`` fields;
    ``allow_config_change`` applies other differences too and records them in
    ``config_changes.jsonl``.
    The device is the config's ``device`` (default ``auto``: CUDA when available, else CPU).
    """
    cfg = coerce_config(config)
    check_names(cfg)
    resolved = resolve_config(cfg)
    timeout = resolved.config.distributed_timeout_s
    info, device = init_from_env(resolve_device(resolved.config.device), timeout)
    try:
        with collective_errors(info, timeout):
            s = open_session(
                resolved.config, info, device, resume=resume, quiet=quiet, encoder=encoder,
                train_data=train_data, val_data=val_data, callback=callback, resolved=resolved,
                allow_config_change=allow_config_change,
            )
            result = _loop(s)
    except BaseException:
        if info.enabled and torch.distributed.is_initialized():
            try:
                torch.distributed.destroy_process_group()
            except Exception:  # noqa: BLE001 - the group is already broken; the first error is the one to show
                pass
        raise
    with collective_errors(info, timeout):
        shutdown(info)
    return result


def _loop(s: Session) -> TrainResult:
    cfg = s.cfg
    if s.info.is_main:
        resumed_at = s.global_step if s.resume_from else None
        start_files(s.run_dir, cfg, s.resolved, s.label_maps, resumed_at, write_config=resumed_at is None or bool(s.config_changes))
        if s.config_changes:
            record_changes(s.run_dir, s.global_step, s.config_changes)
            s.say(f"config changes on resume (recorded in {CHANGES_FILE}): {describe(s.config_changes)}")
        counts = s.model.parameter_counts()
        atomic_write_text(s.run_dir / PARAMETERS_FILE, json.dumps(counts, indent=2) + "\n")
        s.say("trainable parameters: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    if s.resolved is not None and s.resume_from is None:
        from_recipes = [" ".join(line.split()) for line in s.resolved.describe() if "(recipe of " in line]
        if from_recipes:
            s.say("from plugin recipes (the config leaves these out): " + "; ".join(from_recipes))
    barrier(s.info)
    if isinstance(s.sampler, ShardEpochPlan):
        loader = make_shard_loader(s.train_set, s.collate, s.sampler, cfg.num_workers, s.device.type == "cuda", cfg.data.skip_errors)
    else:
        loader = make_loader(s.train_set, s.collate, s.sampler, cfg.num_workers, pin=s.device.type == "cuda")
    start_epoch = int(s.state["epoch"])
    epoch, t_start = start_epoch, time.perf_counter()
    while not s.done and (cfg.max_steps or epoch < cfg.epochs):
        start_batch = int(s.state["batch"]) if epoch == start_epoch else 0
        run_epoch(s, loader, epoch, start_batch, lambda pointers: save(s, pointers))
        end_epoch(s, epoch, time.perf_counter() - t_start)
        epoch += 1
    history = finish_files(s.run_dir) if s.info.is_main else []
    barrier(s.info)
    last, best = ckpt_io.read_pointer(s.run_dir, "last"), ckpt_io.read_pointer(s.run_dir, "best")
    return TrainResult(s.run_dir, last, best, s.global_step, history)


def save(s: Session, pointers: tuple[str, ...]) -> None:
    """A checkpoint of the current step (rank 0), named by ``pointers`` (last, best)."""
    if not s.info.is_main:
        return
    state = {**s.state, "scheduler": s.scheduler.state_dict()}
    ckpt_io.save_checkpoint(
        s.run_dir, s.global_step, s.model.trainable_state_dict(), s.optimizer.state_dict(), s.facts, state, pointers
    )


def end_epoch(s: Session, epoch: int, elapsed: float) -> None:
    """Validate, log the epoch's record, checkpoint (``best`` when the monitored metric improved)."""
    sums = reduce_sums({"loss": s.state["epoch_loss_sum"], "count": s.state["epoch_count"]}, s.info, s.device)
    record: dict[str, Any] = {
        "kind": "val", "epoch": epoch + 1, "step": s.global_step,
        "train_loss": sums["loss"] / max(sums["count"], 1.0), "lr": s.scheduler.get_last_lr()[0],
        "elapsed_s": round(elapsed, 3),
    }
    record.update(validate(s))
    # the next position: the start of the next epoch
    s.state.update({"epoch": epoch + 1, "batch": 0, "epoch_loss_sum": 0.0, "epoch_count": 0.0})
    pointers = ("last", "best") if _improved(s, record) else ("last",)
    if s.info.is_main:
        append_record(s.run_dir, record)
    save(s, pointers)
    if s.info.is_main:
        shown = ", ".join(
            f"{k} {v:.4f}" for k, v in record.items() if k.startswith(("train_loss", "val_")) and isinstance(v, float)
        )
        s.say(f"epoch {epoch + 1}: {shown}")


def _improved(s: Session, record: dict[str, Any]) -> bool:
    """Whether this epoch is the best so far (lower loss, or higher accuracy with ties to the lower loss)."""
    value = record.get(s.cfg.monitor_metric)
    if value is None:
        return s.state["best_step"] is None or not s.val_examples  # no validation: the latest is the best we know
    key = [-value, record["val_loss"]] if s.cfg.monitor_metric in HIGHER_IS_BETTER else [value]
    best = s.state["best_metric"]
    if best is not None and not key < best:
        return False
    s.state["best_metric"], s.state["best_step"] = key, s.global_step
    return True


__all__ = ["TrainResult", "train", "RunError"]
