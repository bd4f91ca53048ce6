"""What each installed distribution contributes to metaframe, for ``metaframe plugins``.

One report per distribution with a ``metaframe.modalities`` or ``metaframe.plugins`` entry
point: its entry points, the hooks its plugin modules implement, what it registered
(modalities, datasets, heads, encoders) and its problems. A distribution is ``failed`` when
an entry point did not load, a hook raised or a name it provides clashes with another
distribution's; ``warn`` when it loaded with a warning (a misspelt hook name, an entry module
importing torch); else ``ok``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .discovery import PluginRecord

if TYPE_CHECKING:
    from .registry import Registry

DistributionStatus = Literal["ok", "warn", "failed"]
NO_DISTRIBUTION = "<no distribution>"


@dataclass
class DistributionReport:
    """One distribution's entry points, hooks, registrations and problems (JSON-ready via ``to_dict``)."""

    distribution: str
    version: str | None
    entry_points: list[str] = field(default_factory=list)
    hooks: list[str] = field(default_factory=list)
    modalities: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    heads: list[str] = field(default_factory=list)
    encoders: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    tracebacks: list[str] = field(default_factory=list)

    @property
    def status(self) -> DistributionStatus:
        if self.errors:
            return "failed"
        return "warn" if self.warnings else "ok"

    def registers(self) -> dict[str, list[str]]:
        """The non-empty registration lists by kind."""
        kinds = {"modalities": self.modalities, "datasets": self.datasets, "heads": self.heads, "encoders": self.encoders}
        return {kind: names for kind, names in kinds.items() if names}

    def to_dict(self, tracebacks: bool = False) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status
        if not tracebacks:
            data.pop("tracebacks")
        return data


def _entry(record: PluginRecord) -> str:
    return f"{record.group}:{record.name} = {record.value}"


def distribution_reports(registry: Registry) -> list[DistributionReport]:
    """One report per contributing distribution, sorted by name (every entry point loaded once)."""
    from .registry import implemented_hooks, plugin_id

    registrations = {kind: registry.registrations(kind) for kind in ("head", "encoder")}  # runs the hooks first
    plugins = registry.plugin_records()
    modalities = registry.modality_records()
    reports: dict[str, DistributionReport] = {}

    def report_of(record: PluginRecord) -> DistributionReport:
        dist = record.distribution or NO_DISTRIBUTION
        if dist not in reports:
            reports[dist] = DistributionReport(dist, record.version)
        return reports[dist]

    def problems(record: PluginRecord, report: DistributionReport) -> None:
        report.entry_points.append(_entry(record))
        if record.error is not None:
            report.errors.append(f"{_entry(record)}: {record.error}")
            if record.traceback:
                report.tracebacks.append(record.traceback)
        if record.warning is not None:
            report.warnings.append(f"{_entry(record)}: {record.warning}")

    modality_count = Counter(r.name for r in modalities if r.loaded)
    for record in modalities:
        report = report_of(record)
        problems(record, report)
        if not record.loaded:
            continue
        report.modalities.append(record.name)
        if record.fields().get("dataset"):
            report.datasets.append(record.name)
        if modality_count[record.name] > 1:
            others = [o.provider() for o in modalities if o.name == record.name and o is not record and o.loaded]
            report.errors.append(f"modality {record.name!r} is also provided by " + "; ".join(others))

    by_plugin: dict[str, DistributionReport] = {}
    for record in plugins:
        report = report_of(record)
        problems(record, report)
        if record.plugin is not None:
            report.hooks += [h for h in implemented_hooks(record.plugin) if h not in report.hooks]
        by_plugin[plugin_id(record)] = report
    for kind, regs in registrations.items():
        count = Counter(reg.name for reg in regs)
        for reg in regs:
            report = by_plugin.get(reg.provider)
            if report is None:  # registered at run time (register_plugin), not by a distribution
                continue
            (report.heads if kind == "head" else report.encoders).append(reg.name)
            if count[reg.name] > 1:
                others = [o.provider for o in regs if o.name == reg.name and o is not reg]
                report.errors.append(f"{kind} {reg.name!r} is also registered by " + "; ".join(others))
    return [reports[name] for name in sorted(reports, key=str.lower)]
