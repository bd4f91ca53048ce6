"""The single-channel patch tokenizer: ``metaframe.nn.FittablePatchEmbed2d`` (patches, learned
positions, optional fitted dataset statistics, ``init_from`` an image tokenizer), 1 channel by
default."""

from __future__ import annotations

from metaframe.nn import FittablePatchEmbed2d


class SingleChannelPatchTokenizer(FittablePatchEmbed2d):
    """``Conv2d(C=1, D, patch, patch)`` + learned positions (see ``metaframe.nn.PatchEmbed2d``).

    ``normalize="dataset"``: ``(x - mean) / std`` per channel with statistics from ``fit`` (use
    the reader's ``normalize="none"`` then). ``init_from``: a saved image tokenizer
    (``.safetensors``, a state dict or a tokenizer module) whose RGB projection is summed into
    this one's channel; ``init_prefix`` picks it inside a larger checkpoint.
    """
