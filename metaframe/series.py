"""The batch of time series that series tokenizers read (time_series, imu, third-party ones).

It lives in the core because more than one plugin cuts series into tokens with the shared
blocks of ``metaframe.nn`` (``SeriesPatchTokenizer``): a plugin builds this batch from its own
(``metaframe_imu`` converts its ``[B, C, T]`` windows) instead of importing another plugin's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .device import Movable


@dataclass
class SeriesBatch(Movable):
    """Series padded to the longest: ``values`` ``[B, T, C]`` float (time-major), ``mask`` ``[B, T]``
    bool (True = real step), ``lengths`` ``[B]`` int64, ``time_features`` ``[B, T, F]`` or None,
    ``sources`` (file names or None) for error messages."""

    values: torch.Tensor
    mask: torch.Tensor
    lengths: torch.Tensor
    time_features: torch.Tensor | None = None
    sources: list[str | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.values.dim() != 3:
            raise ValueError(f"SeriesBatch.values must be [batch, steps, channels], got shape {tuple(self.values.shape)}")
        if self.mask.shape != self.values.shape[:2]:
            raise ValueError(
                f"SeriesBatch.mask must be [batch, steps] = {tuple(self.values.shape[:2])}, got {tuple(self.mask.shape)}"
            )
        if self.lengths.shape != self.values.shape[:1]:
            raise ValueError(f"SeriesBatch.lengths must be [batch] = ({self.values.shape[0]},), got {tuple(self.lengths.shape)}")

    @classmethod
    def full(cls, values: torch.Tensor) -> "SeriesBatch":
        """A ``[B, T, C]`` tensor whose steps are all real, as a batch (float32 unless already floating)."""
        if values.dim() != 3:
            raise ValueError(f"expected a [batch, steps, channels] tensor, got shape {tuple(values.shape)}")
        b, t, _ = values.shape
        mask = torch.ones(b, t, dtype=torch.bool, device=values.device)
        lengths = torch.full((b,), t, dtype=torch.long, device=values.device)
        return cls(values if values.is_floating_point() else values.float(), mask, lengths)

    def __len__(self) -> int:
        return self.values.shape[0]

    def source(self, index: int) -> str:
        """A name for sample ``index`` in error messages: its file when known."""
        if index < len(self.sources) and self.sources[index]:
            return str(self.sources[index])
        return f"<batch item {index}>"

    def check_channels(self, in_channels: int) -> None:
        """Refuse series whose channel count is not the tokenizer's: a ``ReadError`` naming the
        batch's first file when the batch knows its files (a ``ReadError`` is a ``ValueError``)."""
        found = self.values.shape[-1]
        if found == in_channels:
            return
        problem = f"series have {found} channels, this tokenizer was built with in_channels={in_channels}"
        named = [s for s in self.sources if s]
        if not named:
            raise ValueError(problem)
        from metaframe_registry import ReadError

        more = f" (and {len(self.sources) - 1} more in the batch)" if len(self.sources) > 1 else ""
        raise ReadError(named[0], problem + more)
