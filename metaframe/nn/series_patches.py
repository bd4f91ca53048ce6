"""Channel-independent patch tokens of a series batch (PatchTST), shared by time_series and imu.

Each channel is cut into patches (``patch_len`` steps every ``stride``) projected by ONE shared
``Linear(patch_len, D)``; a sinusoidal position per patch index and a learned embedding per
channel are added. PatchTST runs each channel as its own sequence; here a sample's channels
share one sequence (tokens ordered channel by channel) because MetaModel keeps one sequence
per sample, so the channel embedding says which channel a token came from and
``extras[TOKEN_CHANNEL]`` tells heads. Parameter names: ``proj.*``, ``channel_embed``,
``revin.*`` (with ``affine``).
"""

from __future__ import annotations

import torch
from torch import nn

from metaframe import extras as keys
from metaframe.series import SeriesBatch
from metaframe.tokens import TokenBatch

from .patching import check_min_length, extract_patches
from .revin import RevIN
from .sinusoidal import sinusoidal_positions


class SeriesPatchTokenizer(nn.Module):
    """``SeriesBatch`` ``[B, T, C]`` → ``[B, C * n_patches, D]`` tokens (mask marks real patches).

    Extras: ``LENGTHS``, ``TOKEN_CHANNEL`` and, with ``normalize="revin"``, ``REVIN_LOC`` /
    ``REVIN_SCALE`` (see ``metaframe.extras``). A series shorter than one patch is a
    ``ReadError`` naming its source; the class attribute ``short_hint`` ends that message.
    """

    short_hint = "use longer series or a smaller patch_len"

    def __init__(
        self,
        embed_dim: int,
        in_channels: int = 7,
        patch_len: int = 16,
        stride: int = 8,
        pad_end: bool = True,
        normalize: str = "revin",
        affine: bool = False,
        channel_embedding: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if patch_len < 1 or stride < 1:
            raise ValueError(f"patch_len and stride must be >= 1, got patch_len={patch_len}, stride={stride}")
        if normalize not in ("none", "revin"):
            raise ValueError(f"normalize={normalize!r}: expected 'none' or 'revin'")
        self.embed_dim = embed_dim
        self.in_channels = in_channels
        self.patch_len = patch_len
        self.stride = stride
        self.pad_end = pad_end
        self.proj = nn.Linear(patch_len, embed_dim)
        self.channel_embed = nn.Parameter(torch.zeros(in_channels, embed_dim)) if channel_embedding else None
        if self.channel_embed is not None:
            nn.init.trunc_normal_(self.channel_embed, std=0.02)
        self.revin = RevIN(in_channels, affine=affine) if normalize == "revin" else None
        self.dropout = nn.Dropout(dropout)

    def forward(self, batch: SeriesBatch) -> TokenBatch:
        if not isinstance(batch, SeriesBatch):
            raise TypeError(f"expected a metaframe.series.SeriesBatch, got {type(batch).__name__}")
        values = batch.values
        batch.check_channels(self.in_channels)
        check_min_length(batch.lengths, self.patch_len, batch.sources, self.short_hint)
        extras: dict[str, torch.Tensor] = {keys.LENGTHS: batch.lengths}
        if self.revin is not None:
            values, extras[keys.REVIN_LOC], extras[keys.REVIN_SCALE] = self.revin(values, batch.mask)
        patches, patch_mask = extract_patches(values, batch.lengths, self.patch_len, self.stride, self.pad_end)
        b, n, c, _ = patches.shape
        tokens = self.proj(patches)  # [B, n, C, D]
        tokens = tokens + sinusoidal_positions(n, self.embed_dim, values.device).to(tokens.dtype)[None, :, None]
        if self.channel_embed is not None:
            tokens = tokens + self.channel_embed.to(tokens.dtype)[None, None]
        tokens = tokens.permute(0, 2, 1, 3).reshape(b, c * n, self.embed_dim)
        mask = patch_mask[:, None, :].expand(b, c, n).reshape(b, c * n)
        extras[keys.TOKEN_CHANNEL] = torch.arange(c, device=values.device)[None, :, None].expand(b, c, n).reshape(b, c * n)
        tokens = self.dropout(tokens) * mask.unsqueeze(-1).to(tokens.dtype)
        return TokenBatch(tokens, mask, extras)
