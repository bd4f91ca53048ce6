"""Mixup and CutMix on collated training batches (config ``mixup``), targets mixed with them.

A mixed batch blends each sample with a partner from the same batch (a seeded permutation):
Mixup takes ``lam * x + (1 - lam) * x[perm]`` with ``lam ~ Beta(alpha, alpha)``; CutMix pastes
the partner's box, ``lam`` being the share of the sample left. Targets become the same blend of
one-hot (classification) or multi-hot (multi-label) rows, so the loss takes soft targets.

Only image-like ``[B, C, H, W]`` and spectrogram ``[B, T, F]`` tensors are mixed; any other
collated batch is a ConfigError naming ``mixup.modalities``. The draw of step ``s`` depends on
``(seed, s)`` only, so a resumed run mixes like an uninterrupted one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from metaframe_registry import ConfigError

from .config import TrainConfig


def enabled(cfg: TrainConfig) -> bool:
    return bool(cfg.mixup.alpha or cfg.mixup.cutmix_alpha)


def _check_batch(name: str, batch: Any) -> torch.Tensor:
    if isinstance(batch, torch.Tensor) and batch.ndim in (3, 4) and batch.is_floating_point():
        return batch
    found = f"a {batch.ndim}-d {batch.dtype} tensor" if isinstance(batch, torch.Tensor) else f"a {type(batch).__name__}"
    raise ConfigError(
        f"mixup.modalities: {name!r} collates to {found} — mixup needs float [B, C, H, W] (images) or "
        "[B, T, F] (spectrograms) batches; leave this modality out of mixup.modalities"
    )


def _box(lam: float, sizes: tuple[int, int], rng: np.random.Generator) -> tuple[slice, slice, float]:
    """A box over the last two dims covering about ``1 - lam`` of the area; the area actually cut."""
    h, w = sizes
    cut = np.sqrt(1.0 - lam)
    bh, bw = int(round(h * cut)), int(round(w * cut))
    cy, cx = int(rng.integers(0, h)), int(rng.integers(0, w))
    y0, y1 = max(cy - bh // 2, 0), min(cy + bh - bh // 2, h)
    x0, x1 = max(cx - bw // 2, 0), min(cx + bw - bw // 2, w)
    return slice(y0, y1), slice(x0, x1), (y1 - y0) * (x1 - x0) / float(h * w)


def mix_batch(
    cfg: TrainConfig,
    inputs: dict[str, Any],
    targets: dict[str, torch.Tensor],
    label_maps: dict[str, list[Any]],
    step: int,
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The batch of optimiser step ``step``, mixed (or as it is when this step draws no mixing)."""
    mix = cfg.mixup
    rng = np.random.default_rng([cfg.seed, step, 0x6D6978])
    names = mix.modalities or list(inputs)
    batches = {m: _check_batch(m, inputs[m]) for m in names}
    if rng.random() >= mix.prob:
        return inputs, targets
    use_cutmix = mix.cutmix_alpha > 0 and (mix.alpha <= 0 or rng.random() < mix.switch_prob)
    a = mix.cutmix_alpha if use_cutmix else mix.alpha
    lam = float(rng.beta(a, a))
    size = next(iter(batches.values())).shape[0]
    perm = torch.from_numpy(rng.permutation(size))
    out = dict(inputs)
    if use_cutmix:
        frac = None
        y0 = x0 = 0.0
        for m, x in batches.items():
            h, w = x.shape[-2:]
            if frac is None:  # one box in relative coordinates: the same share cut from every modality
                rows, cols, area = _box(lam, (h, w), rng)
                frac = (rows.start / h, rows.stop / h, cols.start / w, cols.stop / w)
                lam = 1.0 - area
            y0, y1, x0, x1 = frac
            rows = slice(int(round(y0 * h)), int(round(y1 * h)))
            cols = slice(int(round(x0 * w)), int(round(x1 * w)))
            mixed = x.clone()
            mixed[..., rows, cols] = x[perm.to(x.device)][..., rows, cols]
            out[m] = mixed
    else:
        for m, x in batches.items():
            out[m] = lam * x + (1.0 - lam) * x[perm.to(x.device)]
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
