"""The public lookup functions: every modality and head goes through the registry.

Torch-free on import: ``metaframe.list_modalities()`` answers from the registry alone; torch
comes in with the first tokenizer, head or encoder built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from metaframe_registry import ConfigError, MetaframeError, PluginRecord, default_registry
from metaframe_registry.options import check_options

if TYPE_CHECKING:
    import torch

    from .modality import Modality


def list_modalities(pattern: str | None = None, include_errors: bool = False) -> list[str] | list[PluginRecord]:
    """Names of installed modalities, optionally filtered by an fnmatch ``pattern`` (``"*ray*"``).

    With ``include_errors`` the full discovery records (broken plugins included) instead.
    """
    registry = default_registry()
    if include_errors:
        from metaframe_registry.names import matching

        records = registry.modality_records()
        names = set(matching([r.name for r in records], pattern))
        return [r for r in records if r.name in names]
    return registry.modality_names(pattern)


def get_modality(name: str) -> Modality:
    """The modality called ``name``; an unknown name lists the installed ones."""
    from .modality import Modality

    return Modality(default_registry().manifest(name))


def build_tokenizer(name: str, embed_dim: int, **options: Any) -> torch.nn.Module:
    return get_modality(name).build_tokenizer(embed_dim=embed_dim, **options)


def list_heads(pattern: str | None = None) -> list[str]:
    """Registered head kinds, optionally filtered by an fnmatch ``pattern``."""
    return list(default_registry().heads(pattern))


def build_head(kind: str, embed_dim: int, **options: Any) -> torch.nn.Module:
    """Build a registered head (``classification``, ``regression``, ``token``, ``embedding``, ...).

    An option the head does not take (``poling=``) or a value it refuses is a one-line
    ``ConfigError`` naming the head, the option and the allowed ones.
    """
    registration = default_registry().head(kind)
    factory = registration.load()
    check_options(f"head {kind!r}", factory, options, given=("embed_dim",))
    try:
        return factory(embed_dim=embed_dim, **options)
    except ConfigError as exc:  # a refused value: say which head refused it
        raise ConfigError(f"head {kind!r}: {exc}") from exc
    except MetaframeError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"head {kind!r}: options {options} — {' '.join(str(exc).split())}") from exc


def list_encoders(pattern: str | None = None) -> list[str]:
    """Registered encoder backends (``vit``, ``timm``, ``none``, ``whisper-tiny.en``, ... and plugins')."""
    return list(default_registry().encoders(pattern))


def build_encoder(name: str = "vit", **options: Any) -> torch.nn.Module:
    """A new frozen encoder from the backend registered as ``name``.

    ``build_encoder("vit", preset="base")``, ``build_encoder("timm", model_name=...)``,
    ``build_encoder("whisper-tiny.en")``. The engine shares one instance per identity
    in a process (``metaframe.encoder_cache``); this always builds.
    """
    factory = default_registry().encoder(name).load()
    check_options(f"encoder {name!r}", factory, options)
    try:
        return factory(**options)
    except TypeError as exc:
        if "argument" not in str(exc):
            raise
        raise ConfigError(f"encoder {name!r}: options {sorted(options)} — {exc}") from None
