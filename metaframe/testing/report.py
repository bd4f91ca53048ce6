"""The result of a conformance run: one line per check, readable and machine-usable."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Status = Literal["passed", "failed", "skipped", "xfailed", "xpassed"]
FAILING: frozenset[str] = frozenset({"failed", "xpassed"})


@dataclass(frozen=True)
class CheckResult:
    """One check on one modality. ``message`` says why it failed, was skipped or is a known failure."""

    modality: str
    check: str
    status: Status
    message: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status not in FAILING


@dataclass
class ModalityReport:
    """Every check's result for one modality; ``ok`` is False if any failed (or a known failure passed)."""

    modality: str
    results: list[CheckResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if not r.ok]

    def __str__(self) -> str:
        width = max((len(r.check) for r in self.results), default=0)
        lines = [f"conformance of modality {self.modality!r}:"]
        for r in self.results:
            detail = f"  {r.message}" if r.message else ""
            lines.append(f"  {r.status.upper():8} {r.check.ljust(width)}  {r.seconds:5.2f}s{detail}")
        summary = {s: sum(r.status == s for r in self.results) for s in ("passed", "failed", "skipped", "xfailed", "xpassed")}
        lines.append("  " + ", ".join(f"{n} {s}" for s, n in summary.items() if n))
        return "\n".join(lines)
