"""Mixup and CutMix on collated training batches (config ``mixup``), targets mixed with them.

A mixed batch blends each sample with a partner from the same batch (a seeded permutation):
Mixup takes ``lam * x + (1 - lam) * x[perm]`` with ``lam ~ Beta(alpha, alpha)``; CutMix pastes
the partner's box, ``lam`` being the share of the sample left. Targets become the same blend of
one-hot (classification) or multi-hot (multi-label) rows, so the loss takes soft targets.

What can be mixed is ``metaframe.mixable``'s business: image-like ``[B, C, H, W]`` and
spectrogram ``[B, T, F]`` tensors, and the batch types plugins register there (the audio
plugin's padded waveforms); any other collated batch is a ConfigError naming
``mixup.modalities``. The draw of step ``s`` depends on ``(seed, s)`` only, so a resumed run
mixes like an uninterrupted one. Under torchrun each process mixes its own share of the global
batch: partners come from the same process, and every process draws the same ``lam`` (the global
batch has one ``lam``, as in one process).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from metaframe.mixable import CutBox, cut, grid, mix, mixable
from metaframe_registry import ConfigError

from .config import TrainConfig


def enabled(cfg: TrainConfig) -> bool:
    return bool(cfg.mixup.alpha or cfg.mixup.cutmix_alpha)


def _check_batch(name: str, batch: Any) -> Any:
    if mixable(batch):
        return batch
    if not isinstance(batch, torch.Tensor):
        # a plugin registers its batch type next to its collate, which may so far have run only in
        # DataLoader workers: import the collate's module here, then ask again
        from metaframe.api import get_modality

        modality = get_modality(name)
        if modality.manifest.collate is not None:
            modality._resolve("collate")
        if mixable(batch):
            return batch
    found = f"a {batch.ndim}-d {batch.dtype} tensor" if isinstance(batch, torch.Tensor) else f"a {type(batch).__name__}"
    raise ConfigError(
        f"mixup.modalities: {name!r} collates to {found} — mixup needs float [B, C, H, W] (images) or "
        "[B, T, F] (spectrograms) batches, or a batch type its plugin registered in metaframe.mixable "
        "(the audio plugin's waveforms); leave this modality out of mixup.modalities"
    )


def _box(lam: float, sizes: tuple[int, int], rng: np.random.Generator) -> CutBox:
    """A box on an ``h x w`` grid covering about ``1 - lam`` of it (a span of the columns when
    ``h`` is 1: waveforms), in relative coordinates that land on whole cells."""
    h, w = sizes
    if h == 1:
        bh, bw = 1, int(round(w * (1.0 - lam)))
    else:
        side = np.sqrt(1.0 - lam)
        bh, bw = int(round(h * side)), int(round(w * side))
    cy, cx = int(rng.integers(0, h)), int(rng.integers(0, w))
    y0, y1 = max(cy - bh // 2, 0), min(cy + bh - bh // 2, h)
    x0, x1 = max(cx - bw // 2, 0), min(cx + bw - bw // 2, w)
    return CutBox(y0 / h, y1 / h, x0 / w, x1 / w)


def mix_batch(
    cfg: TrainConfig,
    inputs: dict[str, Any],
    targets: dict[str, torch.Tensor],
    label_maps: dict[str, list[Any]],
    step: int,
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The batch of optimiser step ``step``, mixed (or as it is when this step draws no mixing)."""
    mix_cfg = cfg.mixup
    rng = np.random.default_rng([cfg.seed, step, 0x6D6978])
    names = mix_cfg.modalities or list(inputs)
    batches = {m: _check_batch(m, inputs[m]) for m in names}
    if rng.random() >= mix_cfg.prob:
        return inputs, targets
    use_cutmix = mix_cfg.cutmix_alpha > 0 and (mix_cfg.alpha <= 0 or rng.random() < mix_cfg.switch_prob)
    a = mix_cfg.cutmix_alpha if use_cutmix else mix_cfg.alpha
    lam = float(rng.beta(a, a))
    size = next(iter(targets.values())).shape[0]
    perm = torch.from_numpy(rng.permutation(size))
    out = dict(inputs)
    if use_cutmix:
        # one box in relative coordinates, drawn on the first modality's grid: the same share cut everywhere
        box = _box(lam, grid(next(iter(batches.values()))), rng)
        lam = 1.0 - box.area
        for m, x in batches.items():
            out[m] = cut(x, perm, box)
    else:
        for m, x in batches.items():
            out[m] = mix(x, perm, lam)
    return out, mix_targets(cfg, targets, label_maps, lam, perm)


def mix_targets(
    cfg: TrainConfig, targets: dict[str, torch.Tensor], label_maps: dict[str, list[Any]], lam: float, perm: torch.Tensor
) -> dict[str, torch.Tensor]:
    """``lam * y + (1 - lam) * y[perm]`` of each head's one-hot / multi-hot rows."""
    out = dict(targets)
    for head in cfg.heads.values():
        y = targets[head.target]
        if head.resolved_task == "classification" and not y.is_floating_point():
            y = F.one_hot(y, len(label_maps[head.target])).float()
        else:
            y = y.float()
        out[head.target] = lam * y + (1.0 - lam) * y[perm.to(y.device)]
    return out
