"""``parametrize_with_checks``: one pytest test id per (modality, check), known failures declared.

    from metaframe.testing import parametrize_with_checks

    @parametrize_with_checks(["my_modality"], xfail={"check_reader_rejects_empty_file": "why"})
    def test_conformance(modality, check):
        check(modality)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from metaframe_registry import ModalityManifest, default_registry

from .catalog import CHECK_NAMES, validate_xfail, xfail_reason


@dataclass(frozen=True)
class Check:
    """A named check, called with a modality name or manifest; skips through pytest when it does not apply."""

    name: str

    def __call__(self, modality: str | ModalityManifest) -> None:
        from .checks import CHECKS
        from .outcomes import CheckSkipped
        from .subject import subject_for

        subject = subject_for(modality)
        try:
            CHECKS[self.name](subject)
        except CheckSkipped as exc:
            import pytest

            # -ra groups skips by location, so the reason names the check and the modality
            pytest.skip(f"{self.name} on {subject.name!r}: {exc}")

    def __repr__(self) -> str:
        return self.name


def _label(modality: str | ModalityManifest) -> str:
    return modality if isinstance(modality, str) else modality.name


def installed_modalities() -> list[str]:
    """Every modality name discovery found, broken ones included (so they fail loudly, not vanish)."""
    return sorted({record.name for record in default_registry().modality_records()})


def parametrize_with_checks(
    modalities: Sequence[str | ModalityManifest] | None = None,
    *,
    xfail: dict | None = None,
    checks: Sequence[str] | None = None,
) -> Any:
    """A ``pytest.mark.parametrize`` over ``(modality, check)`` with ids ``<modality>-<check>``.

    ``modalities``: names or manifests; None means every installed modality. ``xfail``:
    ``{"check_name": "reason"}`` for every modality, or ``{"modality": {"check_name": "reason"}}``;
    declared failures are strict (a check that starts passing fails until the entry goes).
    """
    import pytest

    validate_xfail(xfail)
    names = list(checks) if checks is not None else list(CHECK_NAMES)
    unknown = [n for n in names if n not in CHECK_NAMES]
    if unknown:
        raise ValueError(f"unknown check(s) {unknown}; known checks: {', '.join(CHECK_NAMES)}")
    targets = list(modalities) if modalities is not None else installed_modalities()
    params = []
    for target in targets:
        label = _label(target)
        for name in names:
            reason = xfail_reason(xfail, label, name)
            marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
            params.append(pytest.param(target, Check(name), id=f"{label}-{name}", marks=marks))
    return pytest.mark.parametrize(("modality", "check"), params)
