"""``metaframe.load_run``: a run directory back into a ready MetaModel.

The tokenizers are rebuilt through the registry, fitted statistics loaded, then the trainable
weights; the encoder is rebuilt from the run's config (or given) and must match the identity
the checkpoint recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from metaframe_registry import ConfigError

from metaframe.merging import as_token_merging
from metaframe.model import MetaModel

from . import checkpoint as ckpt_io
from metaframe.protocols import is_fittable

from .build import build_encoder, build_model, resolve_device
from .checkpoint import CONFIG_FILE, check_encoder
from .config import TrainConfig, load_config
from .errors import RunError


@dataclass
class RunInfo:
    """What a loaded model was trained with (``model.run_info``)."""

    run_dir: Path
    checkpoint: Path
    config: TrainConfig
    label_maps: dict[str, list[Any]]
    target_shapes: dict[str, tuple[int, ...]]
    encoder: dict[str, Any]

    def classes(self, target: str) -> list[Any]:
        return self.label_maps[target]


def load_run(
    run_dir: str | Path,
    *,
    checkpoint: str = "best",
    encoder: torch.nn.Module | None = None,
    device: str = "auto",
    token_merging: Any = None,
) -> MetaModel:
    """A MetaModel in eval mode with the run's tokenizers and heads (``checkpoint``: best or last).

    ``token_merging``: ``TokenMerging(r=8)`` (or an int r) switches token merging on for this
    model whatever the run was trained with (``TokenMerging(r=0)`` switches it off); by default
    the run config's ``encoder.token_merging``.

    ``device``: auto (CUDA when available, else CPU), cpu, cuda, cuda:N or mps.

    ``encoder``: a shared FrozenEncoder to use; it must be the one the run was trained with.
    ``model.run_info`` holds the config, label maps and checkpoint path.
    """
    run_dir = Path(run_dir)
    ckpt = ckpt_io.find_checkpoint(run_dir, checkpoint)
    config_path = run_dir / CONFIG_FILE
    if not config_path.is_file():
        raise RunError(f"{run_dir}: no {CONFIG_FILE}; is this a metaframe run directory?")
    cfg = load_config(config_path)
    facts = ckpt_io.load_facts(ckpt)
    shapes = {k: tuple(v) for k, v in facts.target_shapes.items()}
    try:  # the run's own config no longer builds (a plugin uninstalled, a file moved): say which file
        enc = encoder if encoder is not None else build_encoder(cfg.encoder)
        check_encoder(enc.identity.to_dict(), facts.encoder, ckpt)
        model = build_model(cfg, enc, facts.label_maps, shapes)
    except ConfigError as exc:
        text = " ".join(str(exc).split())
        raise ConfigError(text if text.startswith(str(config_path)) else f"{config_path}: {text}") from None
    for name, tok in model.tokenizers.items():
        if is_fittable(tok):
            if name not in facts.fitted:
                raise RunError(f"{ckpt}: tokenizer {name!r} needs fitted statistics but fitted_{name}.json is missing")
            tok.load_fitted_state(facts.fitted[name])
    model.load_trainable_state_dict(ckpt_io.load_model_state(ckpt))
    model.token_merging = as_token_merging(token_merging if token_merging is not None else cfg.encoder.token_merging)
    model.to(resolve_device(device))
    model.eval()
    model.run_info = RunInfo(run_dir, ckpt, cfg, facts.label_maps, shapes, facts.encoder)  # type: ignore[assignment]
    return model
