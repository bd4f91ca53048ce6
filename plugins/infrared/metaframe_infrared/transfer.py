"""Initialise a 1-channel patch projection from a trained 3-channel image tokenizer.

The RGB filters are summed over their input channels (what timm does for ``in_chans=1``), so a
gray image x gives the same projection as the RGB image (x, x, x) did: image-trained
tokenizers transfer to infrared without retraining from scratch. The reading, checking and
channel adaptation are ``metaframe.nn.load_patch_projection``'s, the one loader every plugin uses.
"""

from __future__ import annotations

import os
from typing import Mapping

import torch
from torch import nn

from metaframe.nn import PatchEmbed2d


def load_image_projection(
    tokenizer: PatchEmbed2d,
    source: str | os.PathLike[str] | Mapping[str, torch.Tensor] | nn.Module,
    prefix: str | None = None,
) -> None:
    """Copy the projection (channels summed or spread), bias and positions of an image tokenizer into ``tokenizer``.

    ``source``: a ``.safetensors`` file of a saved image tokenizer (or of a MetaModel's
    trainable state: the prefix is found), a state dict, or a tokenizer module. ``prefix`` is
    the tokenizer option ``init_prefix``; errors call ``source`` ``init_from``.
    """
    tokenizer.load_projection_from(source, prefix=prefix, option="init_from")
