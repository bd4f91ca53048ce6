"""Errors of the engine: a run directory that cannot be used as asked."""

from __future__ import annotations

from metaframe_registry import MetaframeError


class RunError(MetaframeError):
    """A run directory that is missing, incomplete or does not fit what it is combined with."""


class EncoderMismatchError(RunError):
    """A checkpoint loaded against a different frozen encoder than it was trained with."""
