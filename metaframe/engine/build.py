"""From a config to modules: the frozen encoder, the tokenizers and heads, the MetaModel."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from metaframe_registry import ConfigError, RegistryError

from metaframe.merging import as_token_merging
from metaframe.model import MetaModel

from .config import EncoderConfig, TrainConfig


def build_encoder(cfg: EncoderConfig) -> torch.nn.Module:
    """The process's shared encoder for ``cfg``, built through the registered backend ``cfg.name``.

    ``activation_checkpointing`` is a property of how a run uses the encoder, not of its
    weights, so it is set by the caller (the trainer) on the shared instance.
    """

    from pathlib import Path

    from metaframe.encoder_cache import shared_encoder

    if cfg.checkpoint is not None and not Path(cfg.checkpoint).exists():
        raise ConfigError(f"encoder.checkpoint: {cfg.checkpoint!r} — no such file")
    try:
        return shared_encoder(cfg.name, cfg.factory_options())
    except RegistryError as exc:
        raise ConfigError(f"encoder.name: {cfg.name!r} — {exc}") from None
    except KeyError as exc:
        raise ConfigError(f"encoder.preset: {cfg.preset!r} — {exc.args[0]}") from None


def check_names(config: TrainConfig) -> None:
    """Every modality and head kind the config names is installed: a ConfigError naming the field
    before anything is read (an unknown head kind would otherwise be taken for a regression head)."""
    from metaframe.api import get_modality
    from metaframe_registry import default_registry

    for name in config.modality_names:
        try:
            get_modality(name)
        except RegistryError as exc:
            raise ConfigError(f"modalities: {name!r} — {_one_line(exc)}") from None
    for name, head in config.heads.items():
        try:
            default_registry().head(head.kind)
        except RegistryError as exc:
            raise ConfigError(f"heads.{name}.kind: {head.kind!r} — {_one_line(exc)}") from None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def head_options(config: TrainConfig, name: str, label_maps: dict[str, list[Any]], shapes: dict[str, tuple[int, ...]]) -> dict[str, Any]:
    head = config.heads[name]
    options = dict(head.options)
    if head.resolved_task in ("classification", "multilabel"):
        options.setdefault("num_classes", len(label_maps[head.target]))
    elif head.kind == "regression":
        shape = shapes.get(head.target, ())
        options.setdefault("out_shape", list(shape) if shape else 1)
    return options


def check_loss_recipe(config: TrainConfig, name: str, label_maps: dict[str, list[Any]]) -> None:
    """Label smoothing, class weights and mixup fit head ``name``: a ConfigError naming the field if not."""
    from .metrics import class_weights

    head = config.heads[name]
    soft = head.resolved_task in ("classification", "multilabel")
    if head.label_smoothing and not soft:
        raise ConfigError(f"heads.{name}.label_smoothing: {head.label_smoothing} — needs a classification or multilabel head, found task {head.resolved_task!r}")
    if soft:
        class_weights(name, head, label_maps.get(head.target, []))
    mix = config.mixup
    if (mix.alpha or mix.cutmix_alpha) and not soft:
        raise ConfigError(f"mixup: mixes targets, so every head must be classification or multilabel; heads.{name} is {head.resolved_task!r}")
    unknown = [m for m in mix.modalities or [] if m not in config.modalities]
    if unknown:
        raise ConfigError(f"mixup.modalities: {', '.join(map(repr, unknown))} — not a modality of this config ({', '.join(config.modalities)})")


def build_model(
    config: TrainConfig,
    encoder: torch.nn.Module,
    label_maps: dict[str, list[Any]],
    shapes: dict[str, tuple[int, ...]],
) -> MetaModel:
    """Tokenizers and heads through the registry, around the shared ``encoder``."""
    from metaframe.api import build_head, get_modality

    dim = int(getattr(encoder, "embed_dim"))
    tokenizers = {}
    for name, mcfg in config.modalities.items():
        modality = get_modality(name)
        try:
            tokenizers[name] = modality.build_tokenizer(embed_dim=dim, **mcfg.tokenizer)
        except TypeError as exc:
            raise ConfigError(f"modalities.{name}.tokenizer: {mcfg.tokenizer} — {exc}") from None
        except ConfigError as exc:  # the plugin's own refusal: add where in the config it came from
            raise ConfigError(f"modalities.{name}.tokenizer: {exc}") from None
    heads = {}
    for name, hcfg in config.heads.items():
        check_loss_recipe(config, name, label_maps)
        try:
            heads[name] = build_head(hcfg.kind, embed_dim=dim, **head_options(config, name, label_maps, shapes))
        except RegistryError as exc:  # an unknown kind: names the registered heads and failed plugins
            raise ConfigError(f"heads.{name}.kind: {exc}") from None
        except ConfigError as exc:  # an unknown option or a refused value, already one line naming the head
            raise ConfigError(f"heads.{name}.options: {exc}") from None
        except TypeError as exc:
            raise ConfigError(f"heads.{name}: {hcfg.kind} head options {hcfg.options} — {exc}") from None
    adapters, prompts = build_tuning(config, encoder)
    if config.align is not None:
        model: MetaModel = build_aligned(config, encoder, tokenizers, adapters, prompts)
    else:
        model = MetaModel(encoder, tokenizers, heads, adapters=adapters, prompts=prompts)
    model.token_merging = as_token_merging(config.encoder.token_merging)  # training and load_run alike
    return model


def build_aligned(config: TrainConfig, encoder: torch.nn.Module, tokenizers: dict[str, torch.nn.Module], adapters: Any, prompts: Any) -> MetaModel:
    """An align run's model: per modality an ``embedding`` head (the registered one) into the shared space."""
    from metaframe.api import build_head
    from metaframe.contrastive import AlignedModel

    align = config.align
    assert align is not None
    dim = int(getattr(encoder, "embed_dim"))
    projections = {m: build_head("embedding", embed_dim=dim, dim=align.dim, pooling=align.pooling) for m in tokenizers}
    return AlignedModel(
        encoder, tokenizers, projections, temperature=align.temperature, learn_temperature=align.learn_temperature,
        max_logit_scale=align.max_logit_scale, anchor=align.anchor, adapters=adapters, prompts=prompts,
    )


def build_tuning(config: TrainConfig, encoder: torch.nn.Module) -> tuple[torch.nn.Module | None, torch.nn.Module | None]:
    """The run's LoRA adapters and prompt tokens (``encoder.adapters`` / ``encoder.prompts``), or None each."""
    from metaframe.adapters import LoRAAdapters
    from metaframe.prompts import Prompts

    enc = config.encoder
    adapters = prompts = None
    if enc.adapters is not None:
        if enc.activation_checkpointing:
            raise ConfigError(
                "encoder.adapters: cannot be combined with encoder.activation_checkpointing (the recomputed "
                "blocks would run without the adapters); switch one of them off"
            )
        a = enc.adapters
        adapters = LoRAAdapters(encoder, rank=a.rank, alpha=a.alpha, targets=a.targets, dropout=a.dropout)
    if enc.prompts is not None:
        depth = int(getattr(encoder, "depth", len(getattr(encoder, "blocks", []))))
        if enc.prompts.deep and depth == 0:
            raise ConfigError(
                f"encoder.prompts.deep: prompts before every block, but encoder {enc.name!r} has no blocks; "
                "use shallow prompts (deep: false) or an encoder with blocks"
            )
        prompts = Prompts(int(getattr(encoder, "embed_dim")), enc.prompts.num_tokens, deep=enc.prompts.deep, depth=depth)
    return adapters, prompts


def cosine_lambda(total_steps: int, warmup_steps: int, min_ratio: float, constant: bool = False):  # type: ignore[no-untyped-def]
    """Learning-rate factor per step: linear warm-up, then cosine (or flat) to ``min_ratio``."""

    def factor(step: int) -> float:
        if warmup_steps and step < warmup_steps:
            return (step + 1) / warmup_steps
        if constant:
            return 1.0
        progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


@dataclass(frozen=True)
class GroupSetting:
    """One AdamW parameter group: whose parameters (``part``), its peak lr and its weight decay."""

    part: str  # "model" (tokenizers, heads, [CLS]…, and adapters / prompts without their own lr), "adapters", "prompts"
    matrices: bool  # parameters with ndim >= 2 (decayed) or the vectors (never decayed)
    lr: float
    weight_decay: float


def group_settings(config: TrainConfig) -> list[GroupSetting]:
    """The optimiser's groups in order: matrices then vectors of each part with its own lr.

    Without ``encoder.adapters.lr`` / ``encoder.prompts.lr`` these are the two groups of every
    earlier run, so their checkpoints resume unchanged. Also used on resume to re-apply a changed config.
    """
    opt, enc = config.optimizer, config.encoder
    peaks = [("model", opt.lr)]
    peaks += [("adapters", enc.adapters.lr)] if enc.adapters is not None and enc.adapters.lr is not None else []
    peaks += [("prompts", enc.prompts.lr)] if enc.prompts is not None and enc.prompts.lr is not None else []
    return [GroupSetting(part, m, lr, opt.weight_decay if m else 0.0) for part, lr in peaks for m in (True, False)]


def build_optimizer(config: TrainConfig, model: MetaModel) -> torch.optim.Optimizer:
    """AdamW over the trainable parameters only (never the encoder's); no decay on vectors.

    Adapters and prompts get groups of their own when they have their own lr (LoRA tolerates
    less than the tokenizers and heads); the schedule scales every group's own peak alike.
    """
    settings = group_settings(config)
    own = {s.part for s in settings}
    params: dict[tuple[str, bool], list[torch.nn.Parameter]] = {(s.part, s.matrices): [] for s in settings}
    for name, p in model.named_trainable_parameters():
        part = name.split(".", 1)[0]
        params[(part if part in own else "model", p.ndim >= 2)].append(p)
    opt = config.optimizer
    groups = [{"params": params[(s.part, s.matrices)], "lr": s.lr, "weight_decay": s.weight_decay} for s in settings]
    return torch.optim.AdamW(groups, lr=opt.lr, betas=opt.betas, eps=opt.eps)


def resolve_device(name: str) -> torch.device:
    """The one device rule of every entry point: ``auto`` is CUDA when available, else CPU."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"device: {name!r} — expected auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device: {name!r} — CUDA is not available on this machine (use cpu or auto)")
    return device
