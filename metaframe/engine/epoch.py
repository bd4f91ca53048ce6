"""One training epoch: batches from the resumable sampler, one optimiser step each.

The configured batch size is global: each process takes its share of every batch and the loss
is scaled so the averaged gradient equals the single-process one.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import torch

from metaframe_registry import ConfigError

from metaframe.device import move_to

from .culprit import batch_indices, find_unfit, is_unfit, named_batches
from .errors import RunError
from .loader import global_batch_sizes
from .metrics import head_loss_sum, loss_options
from .mixup import enabled as mixup_enabled, mix_batch
from .rundir import append_record
from .session import Session


def autocast(device: torch.device, mode: str) -> contextlib.AbstractContextManager[Any]:
    """The config's ``mixed_precision`` as a context (``no``: nothing)."""
    if mode == "no":
        return contextlib.nullcontext()
    if mode == "fp16" and device.type != "cuda":
        raise ConfigError(f"mixed_precision: 'fp16' — needs a CUDA device, this run uses {device}; use 'bf16' or 'no'")
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16 if mode == "bf16" else torch.float16)


def _loss_sum(
    s: Session, inputs: Any, targets: dict[str, torch.Tensor], options: dict[str, dict[str, Any]] | None = None
) -> torch.Tensor:
    with autocast(s.device, s.cfg.mixed_precision):
        outputs = s.net(inputs)
    options = options or {}
    total = sum(
        h.loss_weight * head_loss_sum(h.resolved_task, outputs[name], targets[h.target], **options.get(name, {}))
        for name, h in s.cfg.heads.items()
    )
    assert isinstance(total, torch.Tensor)
    return total


def optimiser_step(s: Session, loss: torch.Tensor) -> None:
    """Backward, clip, step (through the fp16 scaler when there is one), advance the schedule."""
    s.optimizer.zero_grad(set_to_none=True)
    if s.scaler is not None:
        s.scaler.scale(loss).backward()
        s.scaler.unscale_(s.optimizer)
    else:
        loss.backward()
    if s.cfg.grad_clip is not None:
        torch.nn.utils.clip_grad_norm_(s.model.trainable_parameters(), s.cfg.grad_clip)
    if s.scaler is not None:
        s.scaler.step(s.optimizer)
        s.scaler.update()
    else:
        s.optimizer.step()
    s.scheduler.step()
    s.global_step += 1


def run_epoch(s: Session, loader: torch.utils.data.DataLoader, epoch: int, start_batch: int, save: Any) -> None:
    """Train ``epoch`` from ``start_batch`` until its end or ``total_steps``; ``save(pointers)`` checkpoints."""
    from tqdm.auto import tqdm

    cfg = s.cfg
    s.sampler.set_epoch(epoch, start_batch)
    sizes = global_batch_sizes(s.sampler)
    s.model.train()
    desc = f"epoch {epoch + 1}" + ("" if cfg.max_steps else f"/{cfg.epochs}")
    bar = tqdm(total=s.steps_per_epoch, initial=start_batch, desc=desc, disable=s.quiet, unit="batch", dynamic_ncols=True)
    seen, t_epoch = 0, time.perf_counter()
    options = loss_options(cfg, s.label_maps, s.train_examples, s.device)  # label smoothing, class weights
    def locate(offset: int, exc: BaseException) -> RunError | None:
        return find_unfit(s.model, s.train_set, s.collate, batch_indices(s.sampler, offset), s.device, exc)

    for offset, (inputs, targets) in named_batches(loader, locate):
        inputs = move_to(inputs, s.device, non_blocking=True)
        targets = move_to(targets, s.device, non_blocking=True)
        if mixup_enabled(cfg):
            inputs, targets = mix_batch(cfg, inputs, targets, s.label_maps, s.global_step)
        try:
            if cfg.align is not None:  # contrastive: the global batch's mean loss (metaframe.engine.align)
                from .align import step_loss

                loss = step_loss(s, inputs, targets)
                if loss is None:  # no negatives in this batch: skipped (a warning says so)
                    s.state["epoch"], s.state["batch"] = epoch, start_batch + offset + 1
                    bar.update(1)
                    continue
                loss_sum = loss * (sizes[offset] / s.info.world)  # optimiser_step scales it back to the mean
            else:
                loss_sum = _loss_sum(s, inputs, targets, options)
        except Exception as exc:  # noqa: BLE001 - a refusal names its sample; anything else is re-raised
            named = locate(offset, exc) if is_unfit(exc) else None
            if named is None:
                raise
            raise named from exc
        local = next(iter(targets.values())).shape[0]
        optimiser_step(s, loss_sum * (s.info.world / sizes[offset]))
        loss_value = float(loss_sum.detach()) / local
        s.state["epoch_loss_sum"] += float(loss_sum.detach())
        s.state["epoch_count"] += local
        s.state["epoch"], s.state["batch"] = epoch, start_batch + offset + 1
        seen += local * s.info.world
        speed = seen / max(time.perf_counter() - t_epoch, 1e-9)
        bar.set_postfix(loss=f"{loss_value:.4f}", samples_per_s=f"{speed:.1f}")
        bar.update(1)
        _after_step(s, epoch, loss_value, speed, last_batch=s.state["batch"] == s.steps_per_epoch, save=save)
        if s.done:
            break
    bar.close()


def _after_step(s: Session, epoch: int, loss: float, speed: float, last_batch: bool, save: Any) -> None:
    cfg = s.cfg
    step = s.global_step
    if s.info.is_main and (step % cfg.log_every == 0 or step == 1):
        append_record(s.run_dir, {"kind": "train", "step": step, "epoch": epoch + 1, "loss": loss,
                                  "lr": s.scheduler.get_last_lr()[0], "samples_per_s": speed})
    if cfg.checkpoint_every and step % cfg.checkpoint_every == 0 and not (s.done or last_batch):
        save(("last",))
    if s.callback is not None:
        s.callback({"step": step, "epoch": epoch + 1, "loss": loss})
