"""Before the first step: the run directory, the data, the model (fitted), the optimiser, resume."""

from __future__ import annotations

import random
import warnings
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from metaframe_registry import ConfigError, ReadError

from metaframe.threads import apply_threads

from . import checkpoint as ckpt_io
from .build import build_encoder, build_model, build_optimizer, cosine_lambda
from .changes import apply_optimizer_settings, check_resume_config
from .config import TrainConfig, load_config
from .data import build_label_maps, build_splits, encode_target, target_shapes
from .distributed import Dist
from .errors import RunError
from .fitting import fit_tokenizers
from .loader import Collator, EpochBatchSampler, ExampleDataset
from .recipes import ResolvedConfig
from .session import Session, fresh_state
from .shard_data import ShardEpochPlan, ShardExampleDataset, is_sharded, shard_layout
from .shards import read_source


def open_session(
    cfg: TrainConfig,
    info: Dist,
    device: torch.device,
    *,
    resume: str | Path | None = None,
    quiet: bool = False,
    encoder: torch.nn.Module | None = None,
    train_data: Sequence[Any] | None = None,
    val_data: Sequence[Any] | None = None,
    callback: Callable[[dict[str, Any]], None] | None = None,
    resolved: ResolvedConfig | None = None,
    allow_config_change: bool = False,
) -> Session:
    """Everything the loop needs, built in order; a resumed run continues where its checkpoint ends."""
    s = Session()
    s.cfg, s.resolved, s.info, s.device, s.callback = cfg, resolved, info, device, callback
    s.quiet = quiet or not info.is_main
    apply_threads(cfg.num_workers, cfg.threads)
    _locate_run(s, resume)
    seed_everything(cfg.seed)
    s.train_examples, s.val_examples = build_splits(cfg, train_data, val_data)
    if not s.train_examples:
        raise ConfigError("data.train: no training samples")
    facts = ckpt_io.load_facts(s.resume_from) if s.resume_from else None
    _build_model(s, encoder, facts)
    _build_data(s)
    _probe_readers(s)
    s.fitted = fit_tokenizers(
        s.model.tokenizers, s.train_examples, s.modalities, _reader_options(cfg), cfg.num_workers, info,
        facts.fitted if facts is not None else None,
    )
    s.model.to(device)
    s.facts = ckpt_io.RunFacts(s.label_maps, {k: list(v) for k, v in s.shapes.items()}, s.identity, s.fitted)
    _build_optimisation(s)
    s.state, s.global_step = fresh_state(), 0
    s.config_changes = []
    if s.resume_from is not None:
        _restore(s, s.resume_from)
        _check_changes(s, allow_config_change)
    s.net = _wrap(s)
    return s


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def _reader_options(cfg: TrainConfig) -> dict[str, dict[str, Any]]:
    return {m: c.reader for m, c in cfg.modalities.items()}


def _locate_run(s: Session, resume: str | Path | None) -> None:
    s.run_dir = Path(resume) if resume is not None else Path(s.cfg.output_dir)
    s.resume_from = None
    last = ckpt_io.read_pointer(s.run_dir, "last")
    if resume is None:
        if last is not None:
            raise ConfigError(
                f"output_dir: {str(s.run_dir)!r} — already holds a run; continue it with "
                f"`--resume {s.run_dir}` or choose another output_dir"
            )
    elif last is not None and (last / "state.json").is_file():
        s.resume_from = last
    else:
        s.say(f"warning: {s.run_dir} holds no complete checkpoint; starting from the beginning")


def _build_model(s: Session, encoder: torch.nn.Module | None, facts: ckpt_io.RunFacts | None) -> None:
    from metaframe.api import get_modality

    cfg = s.cfg
    if facts is not None:
        s.label_maps = facts.label_maps
        s.shapes = {k: tuple(v) for k, v in facts.target_shapes.items()}
    else:
        s.label_maps = build_label_maps(cfg, s.train_examples)
        s.shapes = target_shapes(cfg, s.train_examples)
    s.encoder = encoder if encoder is not None else build_encoder(cfg.encoder)
    if hasattr(s.encoder, "gradient_checkpointing"):
        s.encoder.gradient_checkpointing = cfg.encoder.activation_checkpointing
    s.identity = s.encoder.identity.to_dict()
    if facts is not None:
        ckpt_io.check_encoder(s.identity, facts.encoder, s.resume_from or s.run_dir)
    torch.manual_seed(cfg.seed)
    s.model = build_model(cfg, s.encoder, s.label_maps, s.shapes)
    s.modalities = {m: get_modality(m) for m in cfg.modality_names}


def _build_data(s: Session) -> None:
    if s.cfg.align is not None:  # pairs: each row's modalities, no targets (metaframe.engine.align)
        from .align import PairedCollator

        readers = _reader_options(s.cfg)  # an example reads the modalities it has; no targets
        s.train_set = ExampleDataset(s.train_examples, s.modalities, readers, {}, [])
        s.val_set = ExampleDataset(s.val_examples, s.modalities, readers, {}, [])
        s.collate = PairedCollator(s.modalities)  # type: ignore[assignment]
        return
    targets = [h.target for h in s.cfg.heads.values()]
    readers = _reader_options(s.cfg)
    train_type = ShardExampleDataset if is_sharded(s.train_examples) else ExampleDataset
    s.train_set = train_type(s.train_examples, s.modalities, readers, s.label_maps, targets)
    s.val_set = ExampleDataset(s.val_examples, s.modalities, readers, s.label_maps, targets)
    # check every validation target against the label maps now, not after the first epoch
    for example in s.val_examples:
        for t in targets:
            encode_target(example.targets[t], s.label_maps.get(t), example.name, t)
    s.collate = Collator(s.modalities, list(s.label_maps))


def _probe_readers(s: Session) -> None:
    """Read the first training example in this process: a reader option the reader refuses is a
    ConfigError naming ``modalities.NAME.reader`` now, not a DataLoader worker's traceback later."""
    example = s.train_examples[0]
    if not example.needs_read:
        return
    for name, modality in s.modalities.items():
        options = s.cfg.modalities[name].reader
        if not options or name not in example.inputs:  # an align row may lack a modality
            continue
        try:
            read_source(modality, example.inputs[name], options)
        except ReadError:
            raise
        except ConfigError as exc:
            raise ConfigError(f"modalities.{name}.reader: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - the options are the one thing the config changed
            problem = " ".join(f"{type(exc).__name__}: {exc}".split())
            raise ConfigError(f"modalities.{name}.reader: {options} — reading {example.name} failed: {problem}") from None


def _build_optimisation(s: Session) -> None:
    cfg = s.cfg
    s.optimizer = build_optimizer(cfg, s.model)
    if cfg.batch_size % s.info.world:
        raise ConfigError(f"batch_size: {cfg.batch_size} — must be divisible by the {s.info.world} processes")
    if is_sharded(s.train_examples):  # each rank and worker streams its own shards (metaframe.engine.shard_data)
        if cfg.data.bucket_by_length:
            raise ConfigError("data.bucket_by_length: true — not available with WebDataset shards (each worker streams its own shards in order)")
        s.sampler = ShardEpochPlan(
            shard_layout(s.train_examples), cfg.batch_size, cfg.seed, s.info.rank, s.info.world, cfg.num_workers, cfg.epochs
        )
    elif cfg.data.bucket_by_length:
        from .bucketing import LengthBucketSampler, probe_length

        lengths = [probe_length(example.inputs) for example in s.train_examples]
        s.sampler = LengthBucketSampler(lengths, cfg.batch_size, cfg.seed, s.info.rank, s.info.world)
    else:
        s.sampler = EpochBatchSampler(len(s.train_set), cfg.batch_size, cfg.seed, s.info.rank, s.info.world)
    s.steps_per_epoch = len(s.sampler)
    if s.steps_per_epoch == 0 and is_sharded(s.train_examples):
        raise ConfigError(
            f"data.train: {len(s.sampler.layout.shards)} shards of {len(s.train_set)} samples give a process or DataLoader "
            f"worker no full batch of {cfg.batch_size // s.info.world}; write more, smaller shards or lower batch_size / num_workers"
        )
    if s.steps_per_epoch == 0:
        raise ConfigError(f"batch_size: {cfg.batch_size} — larger than the {len(s.train_set)} training samples allow")
    s.total_steps = cfg.max_steps or cfg.epochs * s.steps_per_epoch
    sched = cfg.schedule
    s.scheduler = torch.optim.lr_scheduler.LambdaLR(
        s.optimizer,
        cosine_lambda(s.total_steps, sched.warmup_steps, sched.min_lr_ratio, constant=sched.name == "constant"),
    )
    s.scaler = torch.amp.GradScaler("cuda") if cfg.mixed_precision == "fp16" else None


def _restore(s: Session, ckpt: Path) -> None:
    opt_state, state, rng = ckpt_io.load_training_state(ckpt)
    saved, built = len(opt_state["param_groups"]), len(s.optimizer.param_groups)
    if saved != built:  # a part's own lr given or removed: its moments would land in another group
        raise ConfigError(
            f"{ckpt}: the run's optimiser has {saved} parameter groups, this config builds {built} — "
            "encoder.adapters.lr / encoder.prompts.lr can change on resume but not be added or removed (null); "
            "resume with the run's setting, or start a new run"
        )
    try:
        s.model.load_trainable_state_dict({k: v.to(s.device) for k, v in ckpt_io.load_model_state(ckpt).items()})
        s.optimizer.load_state_dict(opt_state)
    except (KeyError, RuntimeError, ValueError) as exc:
        raise RunError(
            f"{ckpt}: the checkpoint does not fit the model this config builds ({exc}); resume with the "
            "run's own config.yaml"
        ) from None
    s.scheduler.load_state_dict(state["scheduler"])
    ckpt_io.set_rng_state(rng, state["rng"])
    s.global_step = int(state["step"])
    s.state.update({k: state[k] for k in s.state})
    s.say(f"resuming {s.run_dir} from step {s.global_step} (epoch {state['epoch'] + 1}, batch {state['batch']})")


def _check_changes(s: Session, allow: bool) -> None:
    """Compare with the run's own config.yaml: refuse, or apply (optimiser settings included)."""
    path = s.run_dir / ckpt_io.CONFIG_FILE
    if not path.is_file():
        return
    s.config_changes = check_resume_config(s.run_dir, load_config(path), s.cfg, allow)
    if is_sharded(s.train_examples) and s.state["batch"] and any(f == "num_workers" for f, _, _ in s.config_changes):
        s.say(f"warning: num_workers changed in the middle of epoch {s.state['epoch'] + 1}: its shards are dealt anew, so "
              "the rest of this epoch may repeat or miss samples; the next epochs are exact")
    if any(f.startswith(("optimizer.", "schedule.", "epochs", "max_steps", "encoder.adapters.lr", "encoder.prompts.lr"))
           for f, _, _ in s.config_changes):
        apply_optimizer_settings(s.optimizer, s.scheduler, s.cfg)


def _wrap(s: Session) -> torch.nn.Module:
    if not s.info.enabled:
        return s.model
    # [CLS] / modality-embedding gradients come from an expand(): harmless stride mismatch
    warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
    return torch.nn.parallel.DistributedDataParallel(
        s.model, device_ids=[s.device.index] if s.device.type == "cuda" else None,
        # an align batch may lack a modality on one process: its tokenizer then has no gradient there
        find_unused_parameters=s.cfg.align is not None,
    )
