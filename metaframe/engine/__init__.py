"""The engine: train, evaluate and encode, from Python and the command line.

Small flat modules: ``config`` (the pydantic config), ``data`` / ``loader`` (examples and
DataLoader pieces), ``build`` (encoder, model, optimiser), ``trainer``, ``checkpoint``,
``distributed``, ``metrics``, ``evaluation``, ``encoding``, ``run`` (load_run), ``plots``,
``errors``. Names are imported on first use, so reading a config needs no torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from metaframe_registry import lazy_module

_LAZY: dict[str, str] = {
    "TrainConfig": "metaframe.engine.config",
    "load_config": "metaframe.engine.config",
    "EncodeResult": "metaframe.engine.encoding",
    "encode": "metaframe.engine.encoding",
    "EncoderMismatchError": "metaframe.engine.errors",
    "RunError": "metaframe.engine.errors",
    "evaluate": "metaframe.engine.evaluation",
    "RunInfo": "metaframe.engine.run",
    "load_run": "metaframe.engine.run",
    "TrainResult": "metaframe.engine.trainer",
    "train": "metaframe.engine.trainer",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_module(__name__, _LAZY)


if TYPE_CHECKING:  # pragma: no cover
    from .config import TrainConfig, load_config
    from .encoding import EncodeResult, encode
    from .errors import EncoderMismatchError, RunError
    from .evaluation import evaluate
    from .run import RunInfo, load_run
    from .trainer import TrainResult, train
