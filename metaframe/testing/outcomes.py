"""How a check ends other than passing: skipped (does not apply) or a failed conformance run."""

from __future__ import annotations


class CheckSkipped(Exception):
    """Raised by a check that does not apply to a modality (the message says why)."""


class ConformanceError(AssertionError):
    """``check_modality`` found failures; the message is the whole report."""
