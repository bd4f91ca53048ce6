"""Per-band normalisation with statistics fitted on training data.

``minmax`` maps each band's training range to [0, 1] (the Indian Pines recipe); ``standard``
gives each band zero mean and unit variance. The statistics live in buffers (saved in the
state dict, so they travel with the weights) and in a readable ``fitted_state`` JSON.
"""

from __future__ import annotations

from typing import Any, Iterable

import torch
from torch import nn

from metaframe.collate import iter_sample_tensors

NORMALIZE_CHOICES = ("minmax", "standard", "none")
EPS = 1e-6
CHUNK_VALUES = 1 << 22  # samples are reduced in chunks: 10k small neighbourhoods one by one are slow


class BandNormalizer(nn.Module):
    """``(x - shift[band]) / scale[band]`` on ``[B, bands, ...]``; identity for ``none``."""

    def __init__(self, num_bands: int, normalize: str = "minmax") -> None:
        super().__init__()
        if normalize not in NORMALIZE_CHOICES:
            raise ValueError(f"normalize={normalize!r}: expected one of {', '.join(NORMALIZE_CHOICES)}")
        self.num_bands = num_bands
        self.normalize = normalize
        self.register_buffer("shift", torch.zeros(num_bands))
        self.register_buffer("scale", torch.ones(num_bands))
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))

    @torch.no_grad()
    def fit(self, samples: Iterable[Any]) -> None:
        """Streaming per-band min / max / mean / std over every pixel of the training samples."""
        b = self.num_bands
        low = torch.full((b,), float("inf"), dtype=torch.float64)
        high = torch.full((b,), float("-inf"), dtype=torch.float64)
        total = torch.zeros(b, dtype=torch.float64)
        total_sq = torch.zeros(b, dtype=torch.float64)
        count = 0
        pending: list[torch.Tensor] = []
        pending_values = 0

        def flush() -> None:
            nonlocal low, high, count, pending_values
            if not pending:
                return
            x = torch.cat(pending, dim=1)  # [bands, pixels]: one reduction per chunk
            low = torch.minimum(low, x.min(1).values.double().cpu())
            high = torch.maximum(high, x.max(1).values.double().cpu())
            if self.normalize == "standard":  # sums only where needed: float64 on every value is slow
                x = x.double()
                total.add_(x.sum(1).cpu())
                total_sq.add_((x * x).sum(1).cpu())
            count += x.shape[1]
            pending.clear()
            pending_values = 0

        for cube in iter_sample_tensors(samples, 3, "cubes [bands, H, W]"):
            if cube.shape[0] != b:
                raise ValueError(f"fit: sample has {cube.shape[0]} bands, this tokenizer expects {b}")
            pending.append(cube.detach().reshape(b, -1).float())
            pending_values += pending[-1].numel()
            if pending_values >= CHUNK_VALUES:
                flush()
        flush()
        if count == 0:
            raise ValueError("fit: no samples given")
        if self.normalize == "minmax":
            shift, scale = low, high - low
        elif self.normalize == "standard":
            shift = total / count
            scale = (total_sq / count - shift * shift).clamp_min(0).sqrt()
        else:  # none: identity
            shift, scale = torch.zeros(b, dtype=torch.float64), torch.ones(b, dtype=torch.float64)
        self.shift.copy_(shift.float())
        self.scale.copy_(scale.clamp_min(EPS).float())  # a constant band maps to 0, not to inf
        self.fitted.fill_(True)

    def fitted_state(self) -> dict[str, Any]:
        keys = ("low", "range") if self.normalize == "minmax" else ("mean", "std")
        return {
            "normalize": self.normalize,
            "fitted": bool(self.fitted),
            keys[0]: self.shift.tolist(),
            keys[1]: self.scale.tolist(),
        }

    @torch.no_grad()
    def load_fitted_state(self, state: dict[str, Any]) -> None:
        keys = ("low", "range") if self.normalize == "minmax" else ("mean", "std")
        if state.get("normalize", self.normalize) != self.normalize:
            raise ValueError(f"fitted state is for normalize={state['normalize']!r}, this tokenizer uses {self.normalize!r}")
        shift, scale = state.get(keys[0]), state.get(keys[1])
        if shift is None or scale is None or len(shift) != self.num_bands or len(scale) != self.num_bands:
            raise ValueError(
                f"fitted state needs {keys[0]!r} and {keys[1]!r} with {self.num_bands} values each "
                f"(one per band), got {len(shift) if shift is not None else None} and {len(scale) if scale is not None else None}"
            )
        if any(s <= 0 for s in scale):
            raise ValueError(f"fitted state: every {keys[1]!r} must be positive")
        self.shift.copy_(torch.tensor(shift, dtype=torch.float32))
        self.scale.copy_(torch.tensor(scale, dtype=torch.float32))
        self.fitted.fill_(bool(state.get("fitted", True)))

    def forward(self, cubes: torch.Tensor) -> torch.Tensor:
        if self.normalize == "none":
            return cubes
        if not bool(self.fitted):
            raise RuntimeError(
                f"per-band normalisation ({self.normalize}) is not fitted: call tokenizer.fit(training samples) "
                "or tokenizer.load_fitted_state(state) first, or build the tokenizer with normalize='none'"
            )
        view = (1, -1) + (1,) * (cubes.dim() - 2)
        return (cubes - self.shift.view(view).to(cubes.dtype)) / self.scale.view(view).to(cubes.dtype)
