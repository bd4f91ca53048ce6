"""The public lookup functions: every modality and head goes through the registry."""

from __future__ import annotations

from typing import Any

import torch

from metaframe_registry import PluginRecord, default_registry

from .modality import Modality


def list_modalities(include_errors: bool = False) -> list[str] | list[PluginRecord]:
    """Names of installed modalities; with ``include_errors`` the full discovery records."""
    registry = default_registry()
    if include_errors:
        return registry.modality_records()
    return registry.modality_names()


def get_modality(name: str) -> Modality:
    """The modality called ``name``; an unknown name lists the installed ones."""
    return Modality(default_registry().manifest(name))


def build_tokenizer(name: str, embed_dim: int, **options: Any) -> torch.nn.Module:
    return get_modality(name).build_tokenizer(embed_dim=embed_dim, **options)


def list_heads() -> list[str]:
    return list(default_registry().heads())


def build_head(kind: str, embed_dim: int, **options: Any) -> torch.nn.Module:
    """Build a registered head (``classification``, ``regression``, ``token``, ``embedding``, ...)."""
    factory = default_registry().head(kind).load()
    return factory(embed_dim=embed_dim, **options)


def list_encoders() -> list[str]:
    """Registered encoder backends (``vit``, ``timm``, ``none``, ``whisper-tiny.en``, ... and plugins')."""
    return list(default_registry().encoders())


def build_encoder(name: str = "vit", **options: Any) -> torch.nn.Module:
    """A new frozen encoder from the backend registered as ``name``.

    ``build_encoder("vit", preset="base")``, ``build_encoder("timm", model_name=...)``,
    ``build_encoder("whisper-tiny.en")``. The engine shares one instance per identity
    in a process (``metaframe.encoder_cache``); this always builds.
    """
    from metaframe_registry import ConfigError

    factory = default_registry().encoder(name).load()
    try:
        return factory(**options)
    except TypeError as exc:
        if "argument" not in str(exc):
            raise
        raise ConfigError(f"encoder {name!r}: options {sorted(options)} — {exc}") from None
