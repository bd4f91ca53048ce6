"""Resuming with a different config: only resumable fields may change unless changes are allowed.

A resumed run keeps its optimiser state, data order and label maps; a changed learning rate,
batch size or dataset would otherwise be half applied without a word. Differences in anything
but ``RESUMABLE`` are an error listing them (``field: run value → new value``); with
``allow_config_change`` they are applied and recorded in the run's ``config_changes.jsonl``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import torch

from metaframe_registry import ConfigError

from .build import group_settings
from .config import TrainConfig, config_to_dict

CHANGES_FILE = "config_changes.jsonl"

RESUMABLE = (
    "epochs", "max_steps", "checkpoint_every", "log_every", "num_workers", "threads", "device", "distributed_timeout_s", "output_dir",
)
"""Top-level fields a resume may change freely (how long, how often, where: not what is learned)."""

_ABSENT = "(absent)"


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict) and data:
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(_flatten(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: data}


def config_differences(run: TrainConfig, new: TrainConfig) -> list[tuple[str, Any, Any]]:
    """``(field, run value, new value)`` for every leaf field that differs, sorted by field."""
    a, b = _flatten(config_to_dict(run)), _flatten(config_to_dict(new))
    return [(k, a.get(k, _ABSENT), b.get(k, _ABSENT)) for k in sorted(set(a) | set(b)) if a.get(k, _ABSENT) != b.get(k, _ABSENT)]


def is_resumable(field: str) -> bool:
    return field.split(".")[0] in RESUMABLE


def describe(differences: list[tuple[str, Any, Any]]) -> str:
    return "; ".join(f"{field}: {json.dumps(old, default=str)} → {json.dumps(new, default=str)}" for field, old, new in differences)


def check_resume_config(run_dir: Path, run: TrainConfig, new: TrainConfig, allow: bool) -> list[tuple[str, Any, Any]]:
    """The differences to apply; a ConfigError when some are not resumable and not ``allow``ed."""
    differences = [d for d in config_differences(run, new) if d[0] != "output_dir"]
    refused = [d for d in differences if not is_resumable(d[0])]
    if refused and not allow:
        raise ConfigError(
            f"--resume {run_dir}: the config differs from the run's in {describe(refused)} — only "
            f"{', '.join(RESUMABLE)} may change on resume; resume with the run's config.yaml, or pass "
            "--allow-config-change (allow_config_change=True) to apply and record the changes"
        )
    return differences


def record_changes(run_dir: Path, step: int, differences: list[tuple[str, Any, Any]]) -> None:
    """Append one line to ``config_changes.jsonl``: when, at which step, what changed."""
    line = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "step": step,
        "changes": [{"field": f, "run": old, "new": new} for f, old, new in differences],
    }
    with open(run_dir / CHANGES_FILE, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(line, default=str) + "\n")


def apply_optimizer_settings(
    optimizer: torch.optim.Optimizer, scheduler: torch.optim.lr_scheduler.LambdaLR, cfg: TrainConfig
) -> None:
    """The config's learning rates (adapters' and prompts' too), betas, eps and weight decay over a restored optimiser state."""
    opt = cfg.optimizer
    settings = group_settings(cfg)
    for group, setting in zip(optimizer.param_groups, settings):
        group.update(initial_lr=setting.lr, betas=tuple(opt.betas), eps=opt.eps, weight_decay=setting.weight_decay)
    scheduler.base_lrs = [s.lr for s in settings]
    factor = scheduler.lr_lambdas[0](scheduler.last_epoch)
    for group, setting in zip(optimizer.param_groups, settings):
        group["lr"] = setting.lr * factor
    scheduler._last_lr = [g["lr"] for g in optimizer.param_groups]  # what get_last_lr() reports
