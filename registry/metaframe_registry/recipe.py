"""A plugin's recommended training recipe: the values the engine uses where a config is silent.

Every field is optional. ``metaframe train`` fills a field the user's config (or ``--set``)
leaves out from the recipes of the run's modalities, and only then from the built-in default;
``metaframe train CONFIG --print-config`` shows where each value came from. Choose the values
by measurement (see ``docs/benchmarks.md``, "Plugin recipes") and say how in ``note``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# The head poolings of metaframe.heads.POOLINGS (repeated here: this package never imports torch;
# a test keeps the two equal).
Pooling = Literal["cls", "mean", "max", "cls+max+mean"]
POOLINGS: tuple[str, ...] = ("cls", "mean", "max", "cls+max+mean")

# Recipe field -> the TrainConfig field it fills (dotted path). ``pooling`` and ``tokenizer``
# go to every head / to the modality's own tokenizer options instead.
CONFIG_PATHS: dict[str, str] = {
    "lr": "optimizer.lr",
    "weight_decay": "optimizer.weight_decay",
    "warmup_steps": "schedule.warmup_steps",
    "epochs": "epochs",
    "max_steps": "max_steps",
    "batch_size": "batch_size",
}


class Recipe(BaseModel):
    """Training defaults a modality plugin recommends, e.g.
    ``Recipe(lr=3e-3, epochs=8, pooling="mean", note="digits 8x8: 0.87 vs 0.35 with lr 1e-3, cls")``."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    lr: float | None = Field(None, gt=0, description="peak AdamW learning rate (optimizer.lr; built-in 1e-3)")
    weight_decay: float | None = Field(
        None, ge=0, description="AdamW weight decay on matrices (optimizer.weight_decay; built-in 0.05)"
    )
    epochs: int | None = Field(None, gt=0, description="passes over the training data (epochs; built-in 10)")
    max_steps: int | None = Field(None, gt=0, description="stop after this many optimiser steps (max_steps; built-in none)")
    batch_size: int | None = Field(None, gt=0, description="global batch size (batch_size; built-in 32)")
    warmup_steps: int | None = Field(
        None, ge=0, description="linear learning-rate warm-up steps (schedule.warmup_steps; built-in 0)"
    )
    pooling: Pooling | None = Field(
        None,
        description="how heads that pool (classification, regression, embedding) turn the sequence into one vector: "
        "cls, mean, max or cls+max+mean (heads.*.options.pooling; built-in cls)",
    )
    tokenizer: dict[str, Any] = Field(
        default_factory=dict,
        description="tokenizer option defaults for training (e.g. an initialisation); used for options the user's "
        "config does not give and the tokenizer factory accepts; they override tokenizer_options",
    )
    note: str | None = Field(None, description="how the values were chosen: data, budget, accuracy against the defaults")

    def is_empty(self) -> bool:
        """True when the recipe sets nothing."""
        return not self.tokenizer and all(getattr(self, f) is None for f in (*CONFIG_PATHS, "pooling"))

    def values(self) -> dict[str, Any]:
        """The fields this recipe sets (``note`` excluded)."""
        return {k: v for k, v in self.model_dump(exclude={"note"}).items() if v is not None and v != {}}
