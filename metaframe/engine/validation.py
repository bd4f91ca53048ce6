"""Validation at the end of an epoch: every head's loss and metrics, reduced over the processes."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from metaframe.device import move_to
from metaframe.threads import worker_init

from .culprit import find_unfit, is_unfit, named_batches
from .distributed import reduce_sums
from .epoch import autocast
from .errors import RunError
from .metrics import HeadMetrics
from .session import Session


def _loader(s: Session) -> tuple[torch.utils.data.DataLoader, list[list[int]]]:
    indices = np.arange(len(s.val_set))[s.info.rank :: s.info.world]
    per_rank = max(1, s.cfg.batch_size // s.info.world)
    batches = [indices[i : i + per_rank].tolist() for i in range(0, len(indices), per_rank)]
    loader = torch.utils.data.DataLoader(
        s.val_set, batch_sampler=batches, collate_fn=s.collate, num_workers=s.cfg.num_workers,
        worker_init_fn=worker_init,
    )
    return loader, batches


@torch.no_grad()
def validate(s: Session) -> dict[str, Any]:
    """``val_loss`` and per-head ``val_*`` metrics (empty without validation data)."""
    if not s.val_examples:
        return {}
    if s.cfg.align is not None:  # retrieval in the shared space (metaframe.engine.align)
        from .align import validate_align

        return validate_align(s)
    cfg = s.cfg
    s.model.eval()
    accs = {name: HeadMetrics(h.resolved_task, len(s.label_maps.get(h.target, []))) for name, h in cfg.heads.items()}
    loader, batches = _loader(s)

    def locate(offset: int, exc: BaseException) -> RunError | None:
        return find_unfit(s.model, s.val_set, s.collate, batches[offset], s.device, exc)

    for offset, (inputs, targets) in named_batches(loader, locate):
        try:
            with autocast(s.device, cfg.mixed_precision):
                outputs = s.model(move_to(inputs, s.device, non_blocking=True))
        except Exception as exc:  # noqa: BLE001 - a refusal names its sample; anything else is re-raised
            named = locate(offset, exc) if is_unfit(exc) else None
            if named is None:
                raise
            raise named from exc
        targets = move_to(targets, s.device, non_blocking=True)
        for name, h in cfg.heads.items():
            accs[name].update(outputs[name], targets[h.target])
    sums: dict[str, float] = {}
    for name, acc in accs.items():
        sums.update(acc.as_sums(name))
    sums = reduce_sums(sums, s.info, s.device)
    for acc in accs.values():
        acc.gather(s.info)  # multi-label: every process's per-sample scores (mAP needs the ranking)
    return _summarise(s, accs, sums)


def _summarise(s: Session, accs: dict[str, HeadMetrics], sums: dict[str, float]) -> dict[str, Any]:
    out: dict[str, Any] = {"val_loss": 0.0}
    accuracy = []
    for name, acc in accs.items():
        acc.load_sums(sums, name)
        res = acc.results()
        out["val_loss"] += s.cfg.heads[name].loss_weight * res["loss"]
        if "accuracy" in res:
            accuracy.append(res["accuracy"])
            extra = {"accuracy": res["accuracy"], "macro_f1": res["macro_f1"]}
        elif "mAP" in res:
            extra = {"mAP": res["mAP"], "micro_f1": res["micro_f1"], "macro_f1": res["macro_f1"]}
        else:
            extra = {"mae": res["mae"], "mse": res["mse"]}
        for k, v in extra.items():
            out[f"val_{k}" if len(accs) == 1 else f"val_{name}_{k}"] = v
    if len(accs) > 1 and accuracy:
        out["val_accuracy"] = float(np.mean(accuracy))
    return out
