"""The engine: train, evaluate and encode, from Python and the command line.

Small flat modules: ``config`` (the pydantic config), ``data`` / ``loader`` (examples and
DataLoader pieces), ``build`` (encoder, model, optimiser), ``trainer``, ``checkpoint``,
``evaluation``, ``encoding``, ``run`` (load_run), ``distributed``, ``metrics``, ``plots``, ``demo``.
"""

from __future__ import annotations

from .config import TrainConfig, load_config
from .trainer import TrainResult, train

__all__ = ["TrainConfig", "TrainResult", "load_config", "train"]
