"""The X-ray tokenizer: ``metaframe.nn.FittablePatchEmbed2d`` with one channel by default.

Patches and learned positions, optional dataset statistics (``normalize="dataset"``, fitted on
training radiographs and saved with the tokenizer) and ``init_from`` a trained image tokenizer
(RGB filters summed into the one channel, through ``metaframe.nn.load_patch_projection``).
"""

from __future__ import annotations

from metaframe.nn import FittablePatchEmbed2d


class XrayPatchTokenizer(FittablePatchEmbed2d):
    """``Conv2d(C=1, D, patch, patch)`` + learned positions; see ``FittablePatchEmbed2d`` for
    ``normalize`` (``none`` / ``dataset``), ``init_from`` and ``init_prefix``."""
