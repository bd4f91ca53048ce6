"""The tokenizer factory the manifest names: fixed statistics, or statistics fitted on training data."""

from __future__ import annotations

from typing import Any

from .tokenizer import AudioPatchTokenizer


def build_tokenizer(embed_dim: int, fit_stats: bool = False, **options: Any) -> AudioPatchTokenizer:
    """``AudioPatchTokenizer`` (``mean`` / ``std`` as given; AudioSet's by default) or, with
    ``fit_stats=True``, one whose statistics ``fit`` computes from the training clips.

    Two classes rather than a flag inside one: metaframe fits every tokenizer that has ``fit``,
    which reads the whole training split once; fixed statistics should not cost that.
    """
    if fit_stats:
        from .fitted_stats import FittedStatsAudioTokenizer

        return FittedStatsAudioTokenizer(embed_dim, **options)
    return AudioPatchTokenizer(embed_dim, **options)
