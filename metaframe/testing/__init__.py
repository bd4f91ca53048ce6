"""metaframe.testing: the conformance kit plugin authors run on their own modalities.

``check_modality("my_modality")`` runs every check and reports; ``parametrize_with_checks``
turns each check into its own pytest test id, with known failures declared by reason (as
scikit-learn's ``parametrize_with_checks`` does). The pytest plugin (``pytest_plugin``)
adds an isolated-registry fixture. Names are imported on first access, so loading the
pytest plugin never imports torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from metaframe_registry import lazy_module

_LAZY: dict[str, str] = {
    "CHECKS": "metaframe.testing.checks",
    "CHECK_NAMES": "metaframe.testing.catalog",
    "Check": "metaframe.testing.parametrize",
    "CheckResult": "metaframe.testing.report",
    "CheckSkipped": "metaframe.testing.outcomes",
    "ConformanceError": "metaframe.testing.outcomes",
    "HostileFile": "metaframe.testing.hostile",
    "HostileOutcome": "metaframe.testing.sweep",
    "ModalityReport": "metaframe.testing.report",
    "ModalityUnderTest": "metaframe.testing.subject",
    "check_modality": "metaframe.testing.conformance",
    "hostile_files": "metaframe.testing.hostile",
    "make_manifest": "metaframe.testing.temporary",
    "parametrize_with_checks": "metaframe.testing.parametrize",
    "sweep_reader": "metaframe.testing.sweep",
    "temporary_modality": "metaframe.testing.temporary",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_module(__name__, _LAZY)


if TYPE_CHECKING:  # pragma: no cover
    from .catalog import CHECK_NAMES
    from .checks import CHECKS
    from .conformance import check_modality
    from .hostile import HostileFile, hostile_files
    from .outcomes import CheckSkipped, ConformanceError
    from .parametrize import Check, parametrize_with_checks
    from .report import CheckResult, ModalityReport
    from .subject import ModalityUnderTest
    from .sweep import HostileOutcome, sweep_reader
    from .temporary import make_manifest, temporary_modality
