"""Static validation of a plugin (``metaframe validate``): no model is built or run.

A target is a source folder (with ``pyproject.toml``; need not be installed) or an installed
distribution. Each entry point is loaded in a fresh interpreter (so "imports no torch" is
measured honestly); ``imports=True`` also imports every "module:attr" the manifest names.
Torch-free itself: it runs inside the CLI.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from metaframe_registry import MODALITY_GROUP, ModalityManifest, discover_modalities, is_modality_name
from metaframe_registry.discovery import normalize_distribution
from metaframe_registry.problems import describe_validation_error
from metaframe_registry.resolve import is_reference

from .probe import probe_entry_point

Level = Literal["ok", "warn", "FAIL"]


@dataclass(frozen=True)
class Finding:
    level: Level
    message: str


@dataclass
class Validation:
    """Everything ``validate_plugin`` found; ``ok`` is False when any finding is a FAIL."""

    target: str
    kind: str
    findings: list[Finding] = field(default_factory=list)

    def add(self, level: Level, message: str) -> None:
        self.findings.append(Finding(level, message))

    @property
    def ok(self) -> bool:
        return all(f.level != "FAIL" for f in self.findings)

    def __str__(self) -> str:
        lines = [f"validating {self.target} ({self.kind})"]
        lines += [f"  {f.level:4}  {f.message}" for f in self.findings]
        errors = sum(f.level == "FAIL" for f in self.findings)
        warnings = sum(f.level == "warn" for f in self.findings)
        verdict = "valid" if self.ok else "INVALID"
        lines.append(f"{verdict}: {errors} error(s), {warnings} warning(s)")
        return "\n".join(lines)


def _read_pyproject(folder: Path, report: Validation) -> dict[str, Any] | None:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]

    path = folder / "pyproject.toml"
    if not path.is_file():
        report.add("FAIL", f"{path}: not found; a plugin is a distribution with a pyproject.toml")
        return None
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except Exception as exc:  # noqa: BLE001 - tomllib.TOMLDecodeError and decoding errors
        report.add("FAIL", f"{path}: not valid TOML ({exc})")
        return None


def _entries_from_folder(folder: Path, report: Validation) -> tuple[str | None, dict[str, str]]:
    data = _read_pyproject(folder, report)
    if data is None:
        return None, {}
    project = data.get("project", {})
    dist = project.get("name")
    if not dist:
        report.add("FAIL", "pyproject.toml: [project] name is missing")
    entries = dict(project.get("entry-points", {}).get(MODALITY_GROUP, {}))
    for name, value in entries.items():
        module = value.partition(":")[0]
        top = module.split(".")[0]
        if not ((folder / top).is_dir() or (folder / f"{top}.py").is_file() or (folder / "src" / top).is_dir()):
            report.add("FAIL", f"entry point {name} = {value}: package {top!r} not found in {folder}")
        if (folder / top).is_dir() and not (folder / top / "py.typed").exists():
            report.add("warn", f"{top}/py.typed missing: type checkers will ignore the plugin's annotations")
    if not (folder / "README.md").is_file():
        report.add("warn", "README.md missing: say what the reader accepts, the options and the tokens produced")
    for name in entries:
        if not list((folder / "tests").glob(f"test_{name}_*.py")):
            report.add("warn", f"no tests/test_{name}_*.py: run the conformance kit (see `metaframe new-plugin`)")
    return dist, entries


def _entries_from_distribution(name: str, report: Validation) -> tuple[str | None, dict[str, str]]:
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        providers = [r.distribution for r in discover_modalities() if r.name == name and r.distribution]
        if len(providers) != 1:
            return None, {}
        dist = metadata.distribution(providers[0])  # a modality name: validate its distribution
    entries = {ep.name: ep.value for ep in dist.entry_points if ep.group == MODALITY_GROUP}
    report.kind = f"installed distribution {dist.metadata['Name']} {dist.version}"
    return dist.metadata["Name"], entries


def validate_plugin(target: str | os.PathLike[str], imports: bool = False) -> Validation:
    """Check a plugin folder or installed distribution without running a model."""
    folder = Path(target)
    report = Validation(str(target), "")
    if folder.exists():
        if folder.name == "pyproject.toml":
            folder = folder.parent
        report.kind = f"source folder {folder.resolve()}"
        dist, entries = _entries_from_folder(folder, report)
        extra: Path | None = folder / "src" if (folder / "src").is_dir() else folder
    else:
        dist, entries = _entries_from_distribution(str(target), report)
        extra = None
        if dist is None:
            installed = sorted({r.distribution for r in discover_modalities() if r.distribution})
            report.kind = "not found"
            report.add(
                "FAIL",
                f"{target!s} is neither a folder, an installed distribution nor an installed modality; installed modality plugins: "
                + (", ".join(installed) or "none"),
            )
            return report
    if not report.ok:
        return report
    if not entries:
        report.add(
            "FAIL",
            f"no entry points in group {MODALITY_GROUP!r}; add [project.entry-points.\"{MODALITY_GROUP}\"] "
            "NAME = \"metaframe_NAME:manifest\" to pyproject.toml",
        )
        return report
    others = {r.name: r for r in discover_modalities() if r.distribution is not None}
    for name, value in sorted(entries.items()):
        _validate_entry(report, name, value, dist, extra, imports, others)
    return report


def _validate_entry(
    report: Validation, name: str, value: str, dist: str | None, extra: Path | None, imports: bool, others: dict
) -> None:
    label = f"{name} = {value}"
    if not is_modality_name(name):
        report.add("FAIL", f"entry point {label}: name must be lower case letters, digits and '_' (e.g. 'point_cloud')")
    if not is_reference(value):
        report.add("FAIL", f"entry point {label}: value must be 'module:attr', e.g. 'metaframe_{name}:manifest'")
        return
    probe = probe_entry_point(value, extra_path=extra, resolve_references=imports)
    if probe["error"]:
        report.add("FAIL", f"entry point {label}: {probe['error']}")
        return
    report.add("ok", f"entry point {label} loads")
    try:
        manifest = ModalityManifest.model_validate(probe["manifest"])
    except ValidationError as exc:  # one line per field, with a did-you-mean for unknown ones
        detail = "; ".join(describe_validation_error(exc, ModalityManifest))
        report.add("FAIL", f"{name}: manifest does not validate: {detail}")
        return
    report.add("ok", f"{name}: manifest validates (schema_version {manifest.schema_version})")
    if manifest.name != name:
        report.add("FAIL", f"{name}: entry point name and manifest name {manifest.name!r} differ; they must agree")
    if "torch" in probe["heavy"]:
        report.add("FAIL", f"{name}: the entry module imports torch; keep it to metaframe_registry and name code by strings")
    else:
        report.add("ok", f"{name}: the entry module imports without torch")
    if manifest.examples is None:
        report.add("warn", f"{name}: no `examples`; the conformance kit needs two small valid inputs")
    if not manifest.extensions:
        report.add("warn", f"{name}: no `extensions`; the kit cannot check that corrupt files are refused")
    other = others.get(name)
    if other is not None and dist is not None and normalize_distribution(other.distribution) != normalize_distribution(dist):
        report.add("FAIL", f"{name}: the modality name is already provided by {other.provider()}")
    if imports:
        for key, problem in probe["references"].items():
            ref = getattr(manifest, key)
            report.add("FAIL" if problem else "ok", f"{name}: {key} {ref} " + (problem if problem else "imports"))
