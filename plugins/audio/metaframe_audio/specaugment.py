"""SpecAugment-style frequency and time masking (Park et al. 2019), as the AST recipe applies it.

One frequency band and one time span per clip, each of a random width below its parameter,
set to ``value`` (0 in the log-Mel domain, before normalisation, as AST does). Time masks fall
inside each clip's real frames, so short padded clips are masked where they have sound.
"""

from __future__ import annotations

import torch


def _spans(size: torch.Tensor, param: int, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-clip (start, width) with width < min(param, size) and start + width <= size."""
    size = size.float()
    u = torch.rand(2, size.shape[0], generator=generator).to(size.device)  # drawn on CPU: same on any device
    width = (u[0] * torch.clamp(size, max=float(param))).floor()
    start = (u[1] * (size - width)).floor()
    return start.long(), width.long()


def spec_augment(
    fbank: torch.Tensor,
    num_frames: torch.Tensor,
    freq_mask: int,
    time_mask: int,
    value: float = 0.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Mask ``[B, frames, bins]`` filterbanks; ``num_frames`` ``[B]`` real frames per clip."""
    batch, frames, bins = fbank.shape
    device = fbank.device
    mask = torch.zeros(batch, frames, bins, dtype=torch.bool, device=device)
    if freq_mask > 0:
        start, width = _spans(torch.full((batch,), bins, device=device), freq_mask, generator)
        f = torch.arange(bins, device=device)[None, :]
        mask |= ((f >= start[:, None]) & (f < (start + width)[:, None]))[:, None, :]
    if time_mask > 0:
        start, width = _spans(num_frames.clamp(max=frames), time_mask, generator)
        t = torch.arange(frames, device=device)[None, :]
        mask |= ((t >= start[:, None]) & (t < (start + width)[:, None]))[:, :, None]
    return fbank.masked_fill(mask, value)
