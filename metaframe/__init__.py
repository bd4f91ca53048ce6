"""metaframe: one frozen, shared transformer encoder for many modalities, as plugins.

``import metaframe`` is light: torch-dependent names are imported on first access, so the
CLI's registry commands (``metaframe list-modalities``) never import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from metaframe_registry import (
    ConfigError,
    DuplicateModalityError,
    MetaframeError,
    PluginLoadError,
    ReadError,
    RegistryError,
    UnknownHeadError,
    UnknownModalityError,
    lazy_module,
)

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    "ModalityManifest": "metaframe_registry.manifest",  # pydantic: only when a manifest is built
    "MissingCapabilityError": "metaframe.modality",
    "TokenBatch": "metaframe.tokens",
    "EncodedBatch": "metaframe.tokens",
    "Tokenizer": "metaframe.protocols",
    "FittableTokenizer": "metaframe.protocols",
    "Head": "metaframe.protocols",
    "Encoder": "metaframe.protocols",
    "FrozenEncoder": "metaframe.encoder",
    "EncoderIdentity": "metaframe.encoder",
    "CheckpointError": "metaframe.encoder_checkpoint",
    "MetaModel": "metaframe.model",
    "Modality": "metaframe.modality",
    "list_modalities": "metaframe.api",
    "get_modality": "metaframe.api",
    "build_tokenizer": "metaframe.api",
    "build_head": "metaframe.api",
    "list_heads": "metaframe.api",
    "list_encoders": "metaframe.api",
    "build_encoder": "metaframe.api",
    "clear_encoder_cache": "metaframe.encoder_cache",
    "default_collate": "metaframe.collate",
    "pad_sequences": "metaframe.collate",
    "train": "metaframe.engine.trainer",
    "evaluate": "metaframe.engine.evaluation",
    "encode": "metaframe.engine.encoding",
    "load_run": "metaframe.engine.run",
    "TrainConfig": "metaframe.engine.config",
    "Index": "metaframe.index",
    "SearchIndexError": "metaframe.index",
    "SearchResult": "metaframe.index",
    "AlignedModel": "metaframe.contrastive",
    "embed": "metaframe.space",
    "zero_shot": "metaframe.space",
    "ZeroShotResult": "metaframe.space",
    "TokenMerging": "metaframe.merging",
    "LoRAAdapters": "metaframe.adapters",
    "merge_adapters": "metaframe.adapters",
    "Prompts": "metaframe.prompts",
}

__all__ = sorted(
    [
        "ConfigError",
        "DuplicateModalityError",
        "MetaframeError",
        "PluginLoadError",
        "ReadError",
        "RegistryError",
        "UnknownHeadError",
        "UnknownModalityError",
        *_LAZY,
    ]
)


__getattr__, __dir__ = lazy_module(__name__, _LAZY)


if TYPE_CHECKING:  # pragma: no cover
    from metaframe_registry.manifest import ModalityManifest

    from .api import build_encoder, build_head, build_tokenizer, get_modality, list_encoders, list_heads, list_modalities
    from .encoder_cache import clear_encoder_cache
    from .collate import default_collate, pad_sequences
    from .encoder import EncoderIdentity, FrozenEncoder
    from .encoder_checkpoint import CheckpointError
    from .engine.config import TrainConfig
    from .engine.encoding import encode
    from .engine.evaluation import evaluate
    from .engine.run import load_run
    from .engine.trainer import train
    from .index import Index, SearchIndexError, SearchResult
    from .contrastive import AlignedModel
    from .space import ZeroShotResult, embed, zero_shot
    from .merging import TokenMerging
    from .adapters import LoRAAdapters, merge_adapters
    from .prompts import Prompts
    from .model import MetaModel
    from .modality import MissingCapabilityError, Modality
    from .protocols import Encoder, FittableTokenizer, Head, Tokenizer
    from .tokens import EncodedBatch, TokenBatch
