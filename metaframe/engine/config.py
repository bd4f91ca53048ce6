"""The training configuration: one pydantic model, read from YAML, TOML or JSON.

A bad field is a ``ConfigError`` naming the file, the field, the value and what is allowed,
e.g. ``config.yaml: optimizer.lr: -1 — must be > 0``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, ValidationError, field_validator, model_validator

from metaframe_registry import ConfigError

Task = Literal["classification", "regression", "multilabel"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModalityConfig(_Strict):
    """How one modality is read and tokenized."""

    tokenizer: dict[str, Any] = Field(default_factory=dict, description="options for the plugin's tokenizer factory")
    reader: dict[str, Any] = Field(default_factory=dict, description="options for the plugin's reader")
    column: str | None = Field(None, description="manifest column holding this modality's path or value")


class TokenMergingConfig(_Strict):
    """Token merging in the frozen encoder (``metaframe.merging``): ``r`` tokens per block, a total ``ratio``, or a list."""

    r: NonNegativeInt | list[NonNegativeInt] | None = Field(
        None, description="tokens merged by every block (ToMe's r; 0 = off), or a list with one count per block"
    )
    ratio: float | None = Field(None, ge=0.0, lt=1.0, description="fraction of the input tokens merged away over all blocks")
    schedule: Literal["constant", "decreasing"] = Field(
        "constant", description="how r x depth or the ratio's total is spread over the blocks: evenly, or decreasing "
        "linearly from about twice the mean in the first block (more merged early: past 2x fewer FLOPs)"
    )

    @model_validator(mode="after")
    def _one_of(self) -> "TokenMergingConfig":
        if (self.r is None) == (self.ratio is None):
            raise ValueError("give exactly one of r or ratio, e.g. {r: 8} or {ratio: 0.5}")
        if isinstance(self.r, list) and self.schedule != "constant":
            raise ValueError("r as a list gives every block's count: leave schedule out")
        return self


class AdapterConfig(_Strict):
    """LoRA adapters on the frozen encoder's linears (``metaframe.adapters``): trained and saved with the run."""

    kind: Literal["lora"] = Field("lora", description="adapter kind")
    rank: int = Field(8, gt=0, description="LoRA rank r: each adapted linear adds r * (in + out) parameters")
    alpha: float = Field(16.0, gt=0, description="LoRA alpha: the update is scaled by alpha / rank")
    targets: list[str] = Field(default_factory=lambda: ["qkv", "proj"], description="block linears to adapt: qkv, proj, fc1, fc2")
    dropout: float = Field(0.0, ge=0, lt=1, description="dropout on the adapters' input (training only)")
    lr: float | None = Field(
        None, gt=0, description="the adapters' own peak learning rate (same warm-up and schedule); null: optimizer.lr"
    )


class PromptConfig(_Strict):
    """Learned prompt tokens (VPT, ``metaframe.prompts``): after [CLS], or per block when deep."""

    num_tokens: int = Field(8, gt=0, description="prompt tokens inserted after [CLS]")
    deep: bool = Field(False, description="a set of prompts per block (VPT-deep) instead of the input only (VPT-shallow)")
    lr: float | None = Field(
        None, gt=0, description="the prompts' own peak learning rate (same warm-up and schedule); null: optimizer.lr"
    )


class EncoderConfig(_Strict):
    """The frozen encoder: a registered backend by ``name`` and its options.

    ``vit`` (the default) takes a preset (random weights, seeded), a checkpoint, or a custom
    small shape. ``timm: NAME`` is shorthand for ``name: timm`` with ``model_name: NAME``.
    Every field given a non-default value here (except ``name``, ``options`` and
    ``activation_checkpointing``) is passed to the backend's factory together with ``options``.
    """

    name: str = Field(
        "vit", description="registered encoder backend: vit, timm, bert, none, whisper-tiny.en, all-minilm-l6-v2, or a plugin's"
    )
    options: dict[str, Any] = Field(default_factory=dict, description="extra options for the backend's factory")
    timm: str | None = Field(None, description="a timm model name (shorthand for name: timm)")
    preset: str = Field("tiny", description="random-weight shape when no checkpoint: tiny, small, base, large (metaframe.encoder_presets)")
    checkpoint: str | None = Field(
        None, description="encoder weights: official .pth, metaframe safetensors, CTranslate2 Whisper model.bin, a timm file"
    )
    seed: int = Field(0, description="seed of the random encoder weights (preset shapes)")
    embed_dim: int | None = Field(None, gt=0, description="custom shape instead of a preset (with depth, num_heads)")
    depth: int | None = Field(None, gt=0, description="number of transformer blocks (custom shape, with embed_dim, num_heads)")
    num_heads: int | None = Field(None, gt=0, description="attention heads (with a custom shape, or for a checkpoint)")
    activation_checkpointing: bool = Field(False, description="recompute encoder activations in backward (less memory)")
    token_merging: TokenMergingConfig | None = Field(
        None, description="merge tokens inside the frozen blocks (ToMe): {r: 8} per block, {ratio: 0.5} in total, "
        "{ratio: 0.9, schedule: decreasing} (more merged in early blocks) or {r: [..one per block..]}"
    )
    adapters: AdapterConfig | None = Field(None, description="LoRA adapters on the frozen blocks' linears, e.g. {kind: lora, rank: 8, alpha: 16, targets: [qkv, proj]}")
    prompts: PromptConfig | None = Field(None, description="learned prompt tokens (VPT), e.g. {num_tokens: 8, deep: false}")

    @model_validator(mode="after")
    def _custom_complete(self) -> "EncoderConfig":
        custom = [self.embed_dim, self.depth]
        if any(v is not None for v in custom) and not (all(v is not None for v in custom) and self.num_heads):
            raise ValueError("a custom encoder needs embed_dim, depth and num_heads together")
        if self.timm is not None:
            if "name" in self.model_fields_set and self.name != "timm":
                raise ValueError(f"'timm: {self.timm}' is the timm backend, but name is {self.name!r}")
            self.name = "timm"
        clash = sorted(set(self._given()) & set(self.options))
        if clash:
            raise ValueError(f"encoder.options repeats {', '.join(clash)}; give each once")
        return self

    def _given(self) -> dict[str, Any]:
        """Backend fields that differ from their defaults (a saved run config repeats every field)."""
        # how a run uses the shared encoder, not which weights it holds: never passed to the backend
        skip = {"name", "options", "timm", "activation_checkpointing", "token_merging", "adapters", "prompts"}
        fields = type(self).model_fields
        return {k: getattr(self, k) for k in sorted(fields) if k not in skip and getattr(self, k) != fields[k].default}

    def factory_options(self) -> dict[str, Any]:
        """Keyword arguments for the backend's factory: the fields given, then ``options``."""
        kwargs = self._given()
        if self.name == "vit":
            kwargs.setdefault("preset", self.preset)
            kwargs.setdefault("seed", self.seed)
        if self.timm is not None:
            kwargs["model_name"] = self.timm
        return {**kwargs, **self.options}


ENCODER_SPEC_HELP = (
    "an encoder: 'random' (a --preset shape, seeded), 'pretrained' (the first packaged pre-trained encoder "
    "installed), a registered backend or packaged name (e.g. whisper-tiny.en, none), "
    "timm:NAME (a timm model; downloads only because you asked for it by name), or a PATH "
    "(official .pth, metaframe .safetensors, CTranslate2 Whisper model.bin, or a BERT-family "
    "Hugging Face folder holding config.json)"
)


def encoder_config_from_spec(spec: str | None, preset: str = "tiny", seed: int = 0) -> EncoderConfig:
    """``--encoder`` on the command line → an EncoderConfig (see ``ENCODER_SPEC_HELP``)."""
    if spec is None or spec == "random":
        return EncoderConfig(preset=preset, seed=seed)
    if spec == "pretrained":
        from metaframe.pretrained import PACKAGED, available_pretrained

        found = available_pretrained()
        if not found:
            how = "; ".join(f"{p.name}: {p.install}" for p in PACKAGED.values())
            raise ConfigError(f"--encoder pretrained: no packaged pre-trained encoder is installed ({how})")
        return EncoderConfig(name=found[0])
    if spec.startswith("timm:"):
        return EncoderConfig(timm=spec.removeprefix("timm:"))
    path = Path(spec)
    if path.is_dir() and (path / "config.json").is_file():
        return EncoderConfig(name="bert", options={"path": spec})
    if path.exists() or any(spec.endswith(s) for s in (".pth", ".pt", ".bin", ".safetensors")):
        return EncoderConfig(checkpoint=spec)
    return EncoderConfig(name=spec)


class HeadConfig(_Strict):
    """One head and the target it learns."""

    kind: str = Field("classification", description="registered head: classification, regression, or a plugin's (metaframe list-modalities shows heads)")
    target: str = Field("label", description="target name: 'label' for folders / datasets, else a manifest column")
    task: Task | None = Field(None, description="classification, regression or multilabel (any number of classes per sample, BCE; default: from kind)")
    options: dict[str, Any] = Field(default_factory=dict, description="extra options for the head factory")
    loss_weight: float = Field(1.0, gt=0, description="weight of this head's loss in the sum over heads")
    label_smoothing: float = Field(0.0, ge=0, lt=1, description="classification / multilabel: share of each target spread over the classes (training loss only)")
    class_weights: Union[list[float], dict[Union[str, int], float], Literal["balanced"], None] = Field(
        None, description="classification / multilabel: loss weight per class, a list in label order, a mapping class: weight, or balanced (from the training label counts)"
    )

    @property
    def resolved_task(self) -> Task:
        if self.task is not None:
            return self.task
        return "classification" if self.kind == "classification" else "regression"


class DataConfig(_Strict):
    """Where samples and targets come from.

    ``train`` is a folder with one sub-folder per class, a ``.csv`` / ``.jsonl`` / ``.parquet``
    manifest, WebDataset ``.tar`` shards (``data/shard-{000000..000009}.tar``), or a file the
    modality's plugin reads as a dataset (``format: dataset``).
    """

    train: str | None = Field(None, description="training source (or pass samples to metaframe.train(train_data=...))")
    val: str | None = Field(None, description="separate validation source (else split off val_fraction)")
    val_fraction: float = Field(0.2, ge=0, lt=1, description="share of train held out for validation when val is not given")
    split_seed: int = Field(0, description="seed of the train / validation split")
    format: Literal["auto", "folders", "manifest", "dataset", "webdataset"] = Field(
        "auto", description="how train / val are read; auto: a folder, a .csv / .jsonl / .parquet manifest, .tar WebDataset shards (a brace pattern or glob), else the plugin's dataset"
    )
    path_column: str = Field("path", description="manifest column with the sample's path or value (one modality)")
    target_column: str | None = Field(None, description="manifest column with the target (default: the head's target)")
    dataset_options: dict[str, Any] = Field(default_factory=dict, description="options for Modality.dataset")
    dataset_modality: str | None = Field(
        None, description="which modality's plugin reads train / val as a dataset (Modality.dataset); default: the only one with a dataset reader. An align run's dataset yields dicts {modality: source}, each read by its modality's reader"
    )
    limit: int | None = Field(None, gt=0, description="use only N training samples, drawn across the classes (stratified, seeded by split_seed; quick runs)")
    members: dict[str, str] = Field(
        default_factory=dict, description="WebDataset shards: member extension per modality or target, e.g. {image: png, label: cls} (default: by extension; .cls then .json for targets)"
    )
    skip_errors: bool = Field(False, description="WebDataset shards: report a corrupt shard or undecodable member (shard and key) and go on instead of stopping")
    bucket_by_length: bool = Field(False, description="batch training samples of similar length together (a file's size, a text's length), so variable-length modalities pad less; seeded, every sample once per epoch (metaframe.engine.bucketing)")


class MixupConfig(_Strict):
    """Mixup / CutMix on collated batches (training only); off while both alphas are 0."""

    alpha: float = Field(0.0, ge=0, description="Mixup Beta(alpha, alpha); 0 = no mixup (0.8 is a common value)")
    cutmix_alpha: float = Field(0.0, ge=0, description="CutMix Beta(a, a) of the pasted box's area; 0 = no CutMix (1.0 is common)")
    prob: float = Field(1.0, ge=0, le=1, description="chance a batch is mixed at all")
    switch_prob: float = Field(0.5, ge=0, le=1, description="with both alphas > 0: chance a mixed batch uses CutMix rather than Mixup")
    modalities: list[str] | None = Field(None, description="modalities whose batches are mixed (default: all; each must collate to [B, C, H, W], [B, T, F] or a type registered in metaframe.mixable, e.g. audio waveforms)")


class AlignConfig(_Strict):
    """Cross-modal alignment (CLIP / ImageBind): each modality projected into one shared space, symmetric InfoNCE."""

    dim: int = Field(128, gt=0, description="width of the shared, L2-normalised embedding space")
    anchor: str | None = Field(
        None, description="bind every modality to this one only (ImageBind); null: every pair of modalities present in a batch (CLIP)"
    )
    temperature: float = Field(0.07, gt=0, description="initial softmax temperature (CLIP: 0.07); the logit scale is 1 / temperature")
    learn_temperature: bool = Field(True, description="learn the temperature (as CLIP's log logit scale) or keep it fixed")
    max_logit_scale: float = Field(100.0, gt=0, description="upper clamp of the learned logit scale 1 / temperature (CLIP: 100)")
    pooling: Literal["cls", "mean", "max", "cls+max+mean"] = Field("cls", description="how each modality's tokens are pooled before its projection")


class OptimizerConfig(_Strict):
    """AdamW; weight decay on matrices only."""

    name: Literal["adamw"] = Field("adamw", description="optimizer (AdamW over tokenizers and heads; the encoder is frozen)")
    lr: float = Field(1e-3, gt=0, description="peak learning rate")
    weight_decay: float = Field(0.05, ge=0, description="decoupled weight decay, on weight matrices only")
    betas: tuple[float, float] = Field((0.9, 0.999), description="AdamW moment coefficients")
    eps: float = Field(1e-8, gt=0, description="AdamW denominator epsilon")


class ScheduleConfig(_Strict):
    """Linear warm-up, then cosine decay to ``min_lr_ratio * lr``."""

    name: Literal["cosine", "constant"] = Field("cosine", description="learning-rate schedule after warm-up")
    warmup_steps: int = Field(0, ge=0, description="optimizer steps of linear warm-up from 0 to lr")
    min_lr_ratio: float = Field(0.0, ge=0, le=1, description="cosine decays to min_lr_ratio * lr")


class TrainConfig(_Strict):
    """Everything ``metaframe train`` needs. ``modality: NAME`` with top-level ``tokenizer`` /
    ``reader`` is shorthand for ``modalities: {NAME: {tokenizer: …, reader: …}}``; ``head: {…}``
    for ``heads: {target_name: {…}}``."""

    modalities: dict[str, ModalityConfig] = Field(min_length=1, description="one entry per modality NAME (or modality: NAME)")
    encoder: EncoderConfig = Field(default_factory=EncoderConfig)
    heads: dict[str, HeadConfig] = Field(
        default_factory=lambda: {"label": HeadConfig()}, description="one head per target NAME (or head: {...}); default one classification head"
    )
    data: DataConfig
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    mixup: MixupConfig = Field(default_factory=MixupConfig)
    align: AlignConfig | None = Field(
        None, description="train an aligned embedding space instead of heads, e.g. {dim: 128, anchor: image}; needs two or more modalities (metaframe.contrastive)"
    )
    epochs: int = Field(10, gt=0, description="passes over the training data")
    max_steps: int | None = Field(None, gt=0, description="stop after this many optimiser steps")
    batch_size: int = Field(32, gt=0, description="global batch size (split across processes)")
    grad_clip: float | None = Field(1.0, gt=0, description="max gradient norm; null = no clipping")
    seed: int = Field(0, description="seed of tokenizer / head init, shuffling and augmentation")
    device: str = Field("auto", description="auto, cpu, cuda, cuda:1, mps")
    mixed_precision: Literal["no", "bf16", "fp16"] = Field("no", description="autocast dtype (bf16 is slower than float32 on most CPUs)")
    num_workers: int = Field(0, ge=0, description="DataLoader worker processes")
    threads: Union[int, str] = Field(
        "auto", description="main-process intra-op threads; auto: usable cores minus num_workers (an exported OMP_NUM_THREADS wins), each worker 1 (metaframe.threads)"
    )
    distributed_timeout_s: float = Field(
        600.0, gt=0, description="under torchrun: seconds one process waits for the others in a collective before the run stops naming its rank (raise it when fitting a tokenizer on rank 0 takes longer)"
    )
    log_every: int = Field(10, gt=0, description="write a training-loss line to metrics.jsonl every N steps")
    checkpoint_every: int | None = Field(None, gt=0, description="also checkpoint every N steps (default: each epoch)")
    monitor: Literal["val_loss", "val_accuracy", "val_mean_recall@1"] | None = Field(
        None, description="what picks the best checkpoint (default: val_mean_recall@1 for align runs, val_accuracy if classifying, else val_loss)"
    )
    output_dir: str = Field("runs/run", description="run directory: config, checkpoints, metrics.jsonl")

    @field_validator("threads")
    @classmethod
    def _threads(cls, value: Union[int, str]) -> Union[int, str]:
        if value == "auto" or (isinstance(value, int) and not isinstance(value, bool) and value > 0):
            return value
        raise ValueError("must be a positive int or 'auto'")

    @model_validator(mode="before")
    @classmethod
    def _shorthands(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "modality" in data:
            if "modalities" in data:
                raise ValueError("give either 'modality' or 'modalities', not both")
            name = data.pop("modality")
            entry = {k: data.pop(k) for k in ("tokenizer", "reader", "column") if k in data}
            data["modalities"] = {name: entry} if isinstance(name, str) else {n: {} for n in name}
        if "head" in data:
            if "heads" in data:
                raise ValueError("give either 'head' or 'heads', not both")
            head = data.pop("head")
            target = head.get("target", "label") if isinstance(head, dict) else "label"
            data["heads"] = {target: head}
        return data

    @model_validator(mode="after")
    def _checks(self) -> "TrainConfig":
        if self.data.dataset_modality is not None and self.data.dataset_modality not in self.modalities:
            raise ValueError(
                f"data.dataset_modality: {self.data.dataset_modality!r} — not a modality of this config ({', '.join(self.modalities)})"
            )
        if self.align is not None:
            self._check_align(self.align)
        elif self.monitor == "val_mean_recall@1":
            raise ValueError("monitor: 'val_mean_recall@1' — retrieval recall is measured by align runs only (align: {...})")
        if len(self.modalities) > 1:
            missing = [m for m, c in self.modalities.items() if c.column is None]
            if missing and self.data.format not in ("dataset",):
                for m in missing:
                    self.modalities[m].column = m
        return self

    def _check_align(self, align: AlignConfig) -> None:
        """An align run learns one projection per modality and no heads: refuse what cannot mean anything."""
        names = list(self.modalities)
        if len(names) < 2:
            raise ValueError(
                f"align: needs two or more modalities to align, found only {names[0]!r}; "
                "list one per manifest column, e.g. modalities: {image: {}, text: {}}"
            )
        if align.anchor is not None and align.anchor not in self.modalities:
            raise ValueError(f"align.anchor: {align.anchor!r} — not a modality of this config ({', '.join(names)})")
        if "heads" in self.model_fields_set and self.heads:
            raise ValueError("heads: an align run learns one projection per modality (align.dim) instead of heads; remove heads")
        self.heads = {}
        if self.batch_size < 2:
            raise ValueError(f"batch_size: {self.batch_size} — align needs >= 2: InfoNCE's negatives are the other pairs of the batch")
        if self.mixup.alpha or self.mixup.cutmix_alpha:
            raise ValueError("mixup: mixes class targets; an align run has none, switch mixup off")
        if self.monitor == "val_accuracy":
            raise ValueError("monitor: 'val_accuracy' — an align run has no accuracy; use val_mean_recall@1 or val_loss")
        if self.data.format == "folders":
            raise ValueError("data.format: 'folders' — an align run reads pairs from a manifest (one column per modality) or a plugin's dataset of dicts {modality: source}")

    @property
    def modality_names(self) -> list[str]:
        return list(self.modalities)

    @property
    def monitor_metric(self) -> str:
        if self.monitor is not None:
            return self.monitor
        if self.align is not None:
            return "val_mean_recall@1"
        tasks = {h.resolved_task for h in self.heads.values()}
        return "val_accuracy" if tasks == {"classification"} else "val_loss"


def format_validation_error(exc: ValidationError, source: str) -> str:
    """``source: field.path: value — message`` lines, one per problem."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        if not err["loc"] and err["type"] == "value_error":  # a whole-config check: its message names the field
            lines.append(f"{source}: {msg}")
        elif err["type"] == "extra_forbidden":
            lines.append(f"{source}: {loc}: unknown field")
        elif err["type"] == "missing":
            lines.append(f"{source}: {loc}: required field is missing")
        else:
            value = err.get("input")
            shown = json.dumps(value, default=str) if not isinstance(value, (dict, list)) else type(value).__name__
            lines.append(f"{source}: {loc}: {shown} — {_lower_first(msg)}")
    return "\n".join(lines)


_PHRASES = (
    ("Input should be greater than or equal to ", "must be >= "),
    ("Input should be greater than ", "must be > "),
    ("Input should be less than or equal to ", "must be <= "),
    ("Input should be less than ", "must be < "),
    ("Input should be ", "must be "),
)


def _lower_first(text: str) -> str:
    for old, new in _PHRASES:
        if text.startswith(old):
            return new + text[len(old) :]
    return text[:1].lower() + text[1:]


def parse_config(data: dict[str, Any], source: str = "config") -> TrainConfig:
    try:
        return TrainConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from None


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Raw mapping from a ``.yaml`` / ``.yml``, ``.toml`` or ``.json`` file."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: config file not found")
    text = p.read_text(encoding="utf-8")
    suffix = p.suffix.lower()
    try:
        if suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        elif suffix == ".toml":
            try:
                import tomllib
            except ModuleNotFoundError:  # Python 3.10
                import tomli as tomllib  # type: ignore[no-redef]

            data = tomllib.loads(text)
        elif suffix == ".json":
            data = json.loads(text)
        else:
            raise ConfigError(f"{p}: unknown config format {suffix!r}; expected .yaml, .yml, .toml or .json")
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser error becomes a readable one
        raise ConfigError(f"{p}: cannot parse {suffix[1:].upper()}: {_parse_problem(exc)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: expected a mapping at the top level, found {type(data).__name__}")
    return data


def _parse_problem(exc: Exception) -> str:
    """A parser's error as one line: YAML's multi-line report becomes ``problem (line L, column C)``."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    if problem and mark is not None:
        context = getattr(exc, "context", None)
        text = f"{context}, {problem}" if context else problem
        return f"{text} (line {mark.line + 1}, column {mark.column + 1})"
    return " ".join(str(exc).split())


def set_override(data: dict[str, Any], assignment: str) -> None:
    """Apply ``a.b.c=value`` (value parsed as YAML) to a raw config mapping."""
    import yaml

    key, sep, raw = assignment.partition("=")
    if not sep or not key:
        raise ConfigError(f"--set {assignment!r}: expected KEY=VALUE, e.g. optimizer.lr=0.001")
    node = data
    parts = key.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"--set {assignment!r}: {part!r} is not a mapping")
    node[parts[-1]] = yaml.safe_load(raw)


def load_config(path: str | Path, overrides: list[str] | None = None) -> TrainConfig:
    """Read, apply ``--set`` overrides and validate a config file."""
    data = read_config_file(path)
    for assignment in overrides or []:
        set_override(data, assignment)
    return parse_config(data, str(path))


def config_to_dict(config: TrainConfig) -> dict[str, Any]:
    return config.model_dump(mode="json")


def field_lines(model: type[BaseModel] = TrainConfig, prefix: str = "") -> list[str]:
    """``name: description; one of … (default …)`` for every config field, nested sections as
    ``section.field`` and per-name mappings as ``section.NAME.field`` (for --help and docs/config.md)."""
    lines = []
    for name, info in model.model_fields.items():
        kind = info.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            lines += field_lines(kind, f"{prefix}{name}.")
            continue
        default = "required" if info.is_required() else f"default {info.get_default(call_default_factory=True)!r}"
        text = info.description or ""
        if get_origin(kind) is Literal:
            text += ("; " if text else "") + "one of " + " | ".join(str(v) for v in get_args(kind))
        lines.append(f"  {prefix}{name}: {text} ({default})".replace(":  (", ": ("))
        optional = [a for a in get_args(kind) if isinstance(a, type) and issubclass(a, BaseModel)]
        if len(optional) == 1 and type(None) in get_args(kind):  # an optional section (align, adapters…): its fields too
            lines += field_lines(optional[0], f"{prefix}{name}.")
        if get_origin(kind) is dict and isinstance(get_args(kind)[1], type) and issubclass(get_args(kind)[1], BaseModel):
            lines += field_lines(get_args(kind)[1], f"{prefix}{name}.NAME.")
    return lines


if __name__ == "__main__":  # the field block of docs/config.md
    print("\n".join(line.strip() for line in field_lines()))
