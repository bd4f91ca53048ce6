"""The engine: train, evaluate and encode, from Python and the command line.

Small flat modules: ``config`` (the pydantic config), ``data`` / ``loader`` (examples and
DataLoader pieces), ``build`` (encoder, model, optimiser), ``trainer``, ``checkpoint``,
``evaluation``, ``encoding``, ``run`` (load_run), ``distributed``, ``metrics``, ``plots``, ``demo``.
"""

from __future__ import annotations

from .config import TrainConfig, load_config
from .encoding import EncodeResult, encode
from .errors import EncoderMismatchError, RunError
from .evaluation import evaluate
from .run import RunInfo, load_run
from .trainer import TrainResult, train

__all__ = [
    "EncodeResult",
    "EncoderMismatchError",
    "RunError",
    "RunInfo",
    "TrainConfig",
    "TrainResult",
    "encode",
    "evaluate",
    "load_config",
    "load_run",
    "train",
]
