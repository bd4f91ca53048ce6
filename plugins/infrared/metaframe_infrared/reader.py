"""Reading single-channel images (thermal, radiometric) without losing dynamic range.

Decoding is ``metaframe.ops.to_chw_tensor`` with ``tiff="tifffile"``: PNG (8/16-bit) through
Pillow, TIFF through tifffile, which also reads 16-bit multi-sample, float32 and compressed
TIFFs that Pillow cannot. Integer data is scaled by its type's full range (uint16 / 65535), so
16-bit counts stay distinct; float data is kept in its own units. Everything after decoding is
``metaframe.ops.prepare_image`` (channels → resize → normalise).
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

from metaframe.ops import prepare_image, to_chw_tensor


def read_infrared(
    source: Any,
    size: int | Sequence[int] | None = 224,
    normalize: str | dict[str, Sequence[float]] | None = "per_image",
    channels: int | None = 1,
) -> torch.Tensor:
    """One infrared image as float ``[channels, size, size]``.

    ``size``: resize target (antialiased, in float); ``None`` keeps the file's size, and then
    images of different sizes are refused by collate rather than misaligned.
    ``normalize``: ``per_image`` (zero mean, unit std per image), ``none`` (scaled values:
    integers in [0, 1], float TIFF in its own units), or dataset statistics
    ``{"mean": [m], "std": [s]}``; for statistics fitted by the tokenizer use ``none`` here
    and ``normalize="dataset"`` on the tokenizer. ``channels``: 1 (RGB → luminance, alpha
    dropped), 3, or ``None`` to keep the file's.
    """
    return prepare_image(to_chw_tensor(source, tiff="tifffile"), source, size, normalize, channels)
