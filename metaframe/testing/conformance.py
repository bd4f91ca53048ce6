"""``check_modality``: run every conformance check on one modality outside pytest."""

from __future__ import annotations

import time
import traceback
from typing import Iterable

from metaframe_registry import ModalityManifest

from .catalog import CHECK_NAMES, validate_xfail, xfail_reason
from .checks import CHECKS
from .outcomes import CheckSkipped, ConformanceError
from .report import CheckResult, ModalityReport
from .subject import ModalityUnderTest, subject_for


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if not isinstance(exc, AssertionError):
        text = f"{type(exc).__name__}: {text}"
    return " ".join(text.split())


def run_check(subject: ModalityUnderTest, name: str, reason: str | None = None) -> CheckResult:
    """Run one check and classify it (a declared ``reason`` turns a failure into ``xfailed``)."""
    start = time.perf_counter()
    try:
        CHECKS[name](subject)
    except CheckSkipped as exc:
        return CheckResult(subject.name, name, "skipped", str(exc), time.perf_counter() - start)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a report line
        seconds = time.perf_counter() - start
        message = _one_line(exc)
        if not isinstance(exc, AssertionError):
            message += " | " + " <- ".join(
                f"{f.name} ({f.filename.rsplit('/', 1)[-1]}:{f.lineno})" for f in traceback.extract_tb(exc.__traceback__)[-3:]
            )
        if reason is not None:
            return CheckResult(subject.name, name, "xfailed", f"known failure ({reason}): {message}", seconds)
        return CheckResult(subject.name, name, "failed", message, seconds)
    seconds = time.perf_counter() - start
    if reason is not None:
        return CheckResult(
            subject.name, name, "xpassed", f"declared a known failure ({reason}) but passed: remove it from xfail", seconds
        )
    return CheckResult(subject.name, name, "passed", "", seconds)


def check_modality(
    modality: str | ModalityManifest,
    *,
    xfail: dict | None = None,
    checks: Iterable[str] | None = None,
    raise_on_failure: bool = True,
) -> ModalityReport:
    """Run the conformance checks on an installed modality (by name) or a manifest.

    ``xfail`` declares known failures: ``{"check_name": "reason"}``. Fittable tokenizers are
    fitted on the examples first. Returns the report; raises ``ConformanceError`` (an
    ``AssertionError`` holding the report) when a check fails and ``raise_on_failure``.
    """
    validate_xfail(xfail)
    names = list(checks) if checks is not None else list(CHECK_NAMES)
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        raise ValueError(f"unknown check(s) {unknown}; known checks: {', '.join(CHECK_NAMES)}")
    subject = subject_for(modality)
    report = ModalityReport(subject.name)
    for name in names:
        report.results.append(run_check(subject, name, xfail_reason(xfail, subject.name, name)))
    if raise_on_failure and not report.ok:
        raise ConformanceError(str(report))
    return report
