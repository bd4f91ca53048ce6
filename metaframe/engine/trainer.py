"""``metaframe.train``: tokenizers, embeddings and heads learn; the frozen encoder never changes.

One loop serves one process and ``torchrun`` (DistributedDataParallel): the configured batch
size is global, each process takes its share of every batch and the loss is scaled so the
averaged gradient equals the single-process one. Only rank 0 writes the run directory.
"""

from __future__ import annotations

import contextlib
import json
import random
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from metaframe_registry import ConfigError

from metaframe.atomic import atomic_write_text
from metaframe.device import move_to

from . import checkpoint as ckpt_io
from .build import build_encoder, build_model, build_optimizer, cosine_lambda, is_fittable, resolve_device
from .config import TrainConfig, config_to_dict, load_config, parse_config
from .data import build_label_maps, build_splits, encode_target, target_shapes
from .distributed import Dist, barrier, init_from_env, reduce_sums, shutdown
from .errors import EncoderMismatchError, RunError
from .loader import Collator, EpochBatchSampler, ExampleDataset, global_batch_sizes, make_loader
from .metrics import HeadMetrics, head_loss_sum
from .recipes import ResolvedConfig, provenance_comment, resolve_config

METRICS_FILE = "metrics.jsonl"
CURVES_FILE = "curves.png"
CONFIG_FILE = "config.yaml"


@dataclass
class TrainResult:
    """Where the run lives and how it ended."""

    run_dir: Path
    last_checkpoint: Path | None
    best_checkpoint: Path | None
    steps: int
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def final(self) -> dict[str, Any]:
        return self.history[-1] if self.history else {}


def coerce_config(config: TrainConfig | dict[str, Any] | str | Path) -> TrainConfig:
    if isinstance(config, TrainConfig):
        return config
    if isinstance(config, dict):
        return parse_config(config, "config")
    return load_config(config)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def check_encoder(identity: dict[str, Any], saved: dict[str, Any], where: Path) -> None:
    if identity.get("sha256") != saved.get("sha256") or identity.get("embed_dim") != saved.get("embed_dim"):
        raise EncoderMismatchError(
            f"{where}: trained with encoder preset={saved.get('preset')} width={saved.get('embed_dim')} "
            f"depth={saved.get('depth')} sha256={str(saved.get('sha256'))[:16]}…, but the encoder given is "
            f"preset={identity.get('preset')} width={identity.get('embed_dim')} depth={identity.get('depth')} "
            f"sha256={str(identity.get('sha256'))[:16]}…; use the run's encoder (config encoder.preset / seed / "
            "checkpoint)"
        )


def _read_records(path: Path, upto_step: int | None = None) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if upto_step is not None:
        records = [r for r in records if r.get("step", 0) <= upto_step]
    return records


def _write_records(path: Path, records: list[dict[str, Any]]) -> None:
    atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in records))


def _autocast(device: torch.device, mode: str) -> contextlib.AbstractContextManager[Any]:
    if mode == "no":
        return contextlib.nullcontext()
    if mode == "fp16" and device.type != "cuda":
        raise ConfigError(f"mixed_precision: 'fp16' — needs a CUDA device, this run uses {device}; use 'bf16' or 'no'")
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16 if mode == "bf16" else torch.float16)


def train(
    config: TrainConfig | dict[str, Any] | str | Path,
    *,
    resume: str | Path | None = None,
    quiet: bool = False,
    encoder: torch.nn.Module | None = None,
    train_data: Sequence[Any] | None = None,
    val_data: Sequence[Any] | None = None,
    callback: Callable[[dict[str, Any]], None] | None = None,
) -> TrainResult:
    """Train as ``config`` says and return the run's result.

    ``resume``: a run directory to continue from its last complete checkpoint. ``encoder``: a
    shared FrozenEncoder instance to use instead of building one from the config.
    ``train_data`` / ``val_data``: in-memory ``(source, target)`` pairs instead of ``data.train``.
    ``callback`` is called after every optimiser step with ``{"step", "epoch", "loss"}``.
    """
    resolved = resolve_config(coerce_config(config))
    cfg = resolved.config
    device = resolve_device(cfg.device)
    info, device = init_from_env(device)
    try:
        result = _Trainer(cfg, info, device, resume, quiet, encoder, train_data, val_data, callback, resolved).run()
    except BaseException:
        if info.enabled and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
        raise
    shutdown(info)
    return result


class _Trainer:
    def __init__(
        self,
        cfg: TrainConfig,
        info: Dist,
        device: torch.device,
        resume: str | Path | None,
        quiet: bool,
        encoder: torch.nn.Module | None,
        train_data: Sequence[Any] | None,
        val_data: Sequence[Any] | None,
        callback: Callable[[dict[str, Any]], None] | None,
        resolved: ResolvedConfig | None = None,
    ) -> None:
        self.cfg = cfg
        self.resolved = resolved
        self.info = info
        self.device = device
        self.quiet = quiet or not info.is_main
        self.callback = callback
        self.run_dir = Path(resume) if resume is not None else Path(cfg.output_dir)
        self.resume_from: Path | None = None
        if resume is not None:
            last = ckpt_io.read_pointer(self.run_dir, "last")
            if last is not None and (last / "state.json").is_file():
                self.resume_from = last
            else:
                self.say(f"warning: {self.run_dir} holds no complete checkpoint; starting from the beginning")
        elif ckpt_io.read_pointer(self.run_dir, "last") is not None:
            raise ConfigError(
                f"output_dir: {str(self.run_dir)!r} — already holds a run; continue it with "
                f"`--resume {self.run_dir}` or choose another output_dir"
            )
        seed_everything(cfg.seed)
        self.train_examples, self.val_examples = build_splits(cfg, train_data, val_data)
        if not self.train_examples:
            raise ConfigError("data.train: no training samples")
        self._build(encoder)

    # -- set-up ------------------------------------------------------------------------------
    def say(self, message: str) -> None:
        if not self.quiet:
            print(message, file=sys.stderr)

    def _build(self, encoder: torch.nn.Module | None) -> None:
        from metaframe.api import get_modality

        cfg = self.cfg
        facts = ckpt_io.load_facts(self.resume_from) if self.resume_from else None
        if facts is not None:
            self.label_maps = facts.label_maps
            self.shapes = {k: tuple(v) for k, v in facts.target_shapes.items()}
        else:
            self.label_maps = build_label_maps(cfg, self.train_examples)
            self.shapes = target_shapes(cfg, self.train_examples)
        self.encoder = encoder if encoder is not None else build_encoder(cfg.encoder)
        if hasattr(self.encoder, "gradient_checkpointing"):
            self.encoder.gradient_checkpointing = cfg.encoder.activation_checkpointing
        identity = self.encoder.identity.to_dict()
        if facts is not None:
            check_encoder(identity, facts.encoder, self.resume_from or self.run_dir)
        torch.manual_seed(cfg.seed)
        self.model = build_model(cfg, self.encoder, self.label_maps, self.shapes)
        self.modalities = {m: get_modality(m) for m in cfg.modality_names}
        targets = [h.target for h in cfg.heads.values()]
        readers = {m: c.reader for m, c in cfg.modalities.items()}
        self.train_set = ExampleDataset(self.train_examples, self.modalities, readers, self.label_maps, targets)
        self.val_set = ExampleDataset(self.val_examples, self.modalities, readers, self.label_maps, targets)
        # check every validation target against the label maps now, not after the first epoch
        for example in self.val_examples:
            for t in targets:
                encode_target(example.targets[t], self.label_maps.get(t), example.name, t)
        self.collate = Collator(self.modalities, list(self.label_maps))
        self.fitted: dict[str, dict[str, Any]] = {}
        for name, tok in self.model.tokenizers.items():
            if not is_fittable(tok):
                continue
            if facts is not None:
                tok.load_fitted_state(facts.fitted[name])
                self.fitted[name] = facts.fitted[name]
            else:
                samples = [self.train_set.read_inputs(i)[name] for i in range(len(self.train_set))]
                tok.fit(samples)  # training split only
                self.fitted[name] = tok.fitted_state()
        self.model.to(self.device)
        self.optimizer = build_optimizer(cfg, self.model)
        if cfg.batch_size % self.info.world:
            raise ConfigError(f"batch_size: {cfg.batch_size} — must be divisible by the {self.info.world} processes")
        self.sampler = EpochBatchSampler(len(self.train_set), cfg.batch_size, cfg.seed, self.info.rank, self.info.world)
        self.steps_per_epoch = len(self.sampler)
        if self.steps_per_epoch == 0:
            raise ConfigError(f"batch_size: {cfg.batch_size} — larger than the {len(self.train_set)} training samples allow")
        self.total_steps = cfg.max_steps or cfg.epochs * self.steps_per_epoch
        sched = cfg.schedule
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer,
            cosine_lambda(self.total_steps, sched.warmup_steps, sched.min_lr_ratio, constant=sched.name == "constant"),
        )
        self.scaler = torch.amp.GradScaler("cuda") if cfg.mixed_precision == "fp16" else None
        self.identity = identity
        self.facts = ckpt_io.RunFacts(
            self.label_maps, {k: list(v) for k, v in self.shapes.items()}, identity, self.fitted
        )
        self.state: dict[str, Any] = {
            "epoch": 0,
            "batch": 0,
            "best_metric": None,
            "best_step": None,
            "epoch_loss_sum": 0.0,
            "epoch_count": 0.0,
        }
        self.global_step = 0
        if self.resume_from is not None:
            self._restore(self.resume_from)
        self.net: torch.nn.Module = self.model
        if self.info.enabled:
            # [CLS] / modality-embedding gradients come from an expand(): harmless stride mismatch
            warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
            self.net = torch.nn.parallel.DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None
            )

    def _restore(self, ckpt: Path) -> None:
        opt_state, state, rng = ckpt_io.load_training_state(ckpt)
        try:
            self.model.load_trainable_state_dict(
                {k: v.to(self.device) for k, v in ckpt_io.load_model_state(ckpt).items()}
            )
            self.optimizer.load_state_dict(opt_state)
        except (KeyError, RuntimeError, ValueError) as exc:
            raise RunError(
                f"{ckpt}: the checkpoint does not fit the model this config builds ({exc}); resume with the "
                "run's own config.yaml"
            ) from None
        self.scheduler.load_state_dict(state["scheduler"])
        ckpt_io.set_rng_state(rng, state["rng"])
        self.global_step = int(state["step"])
        self.state.update({k: state[k] for k in self.state})
        self.say(f"resuming {self.run_dir} from step {self.global_step} (epoch {state['epoch'] + 1}, batch {state['batch']})")

    # -- writing -------------------------------------------------------------------------
    def _save(self, pointers: tuple[str, ...]) -> None:
        if not self.info.is_main:
            return
        state = {**self.state, "scheduler": self.scheduler.state_dict()}
        ckpt_io.save_checkpoint(
            self.run_dir,
            self.global_step,
            self.model.trainable_state_dict(),
            self.optimizer.state_dict(),
            self.facts,
            state,
            pointers,
        )

    def _log(self, record: dict[str, Any]) -> None:
        if self.info.is_main:
            with open(self.run_dir / METRICS_FILE, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(record) + "\n")

    def _start_files(self) -> None:
        if not self.info.is_main:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        import yaml

        resolved = config_to_dict(self.cfg)
        resolved["output_dir"] = str(self.run_dir)
        text = yaml.safe_dump(resolved, sort_keys=False)
        if self.resolved is not None:
            text += provenance_comment(self.resolved)
        atomic_write_text(self.run_dir / CONFIG_FILE, text)
        atomic_write_text(self.run_dir / "labels.json", json.dumps(self.label_maps, indent=2, default=str) + "\n")
        path = self.run_dir / METRICS_FILE
        if self.resume_from is not None:
            _write_records(path, _read_records(path, self.global_step))
        elif path.exists():
            path.unlink()

    # -- the loop ------------------------------------------------------------------------
    def run(self) -> TrainResult:
        cfg = self.cfg
        self._start_files()
        if self.resolved is not None and self.resume_from is None:
            from_recipes = [" ".join(line.split()) for line in self.resolved.describe() if "(recipe of " in line]
            if from_recipes:
                self.say("from plugin recipes (the config leaves these out): " + "; ".join(from_recipes))
        barrier(self.info)
        loader = make_loader(
            self.train_set, self.collate, self.sampler, cfg.num_workers, pin=self.device.type == "cuda"
        )
        heads = {name: h for name, h in cfg.heads.items()}
        start_epoch = int(self.state["epoch"])
        done = self.global_step >= self.total_steps
        t_start = time.perf_counter()
        from tqdm.auto import tqdm

        for epoch in range(start_epoch, cfg.epochs if not cfg.max_steps else 10**9):
            if done:
                break
            start_batch = int(self.state["batch"]) if epoch == start_epoch else 0
            self.sampler.set_epoch(epoch, start_batch)
            sizes = global_batch_sizes(self.sampler)
            self.model.train()
            bar = tqdm(
                total=self.steps_per_epoch,
                initial=start_batch,
                desc=f"epoch {epoch + 1}" + ("" if cfg.max_steps else f"/{cfg.epochs}"),
                disable=self.quiet,
                unit="batch",
                dynamic_ncols=True,
            )
            seen, t_epoch = 0, time.perf_counter()
            for offset, (inputs, targets) in enumerate(loader):
                batch_index = start_batch + offset
                inputs = move_to(inputs, self.device, non_blocking=True)
                targets = move_to(targets, self.device, non_blocking=True)
                with _autocast(self.device, cfg.mixed_precision):
                    outputs = self.net(inputs)
                loss_sum = sum(
                    h.loss_weight * head_loss_sum(h.resolved_task, outputs[name], targets[h.target])
                    for name, h in heads.items()
                )
                assert isinstance(loss_sum, torch.Tensor)
                local = next(iter(targets.values())).shape[0]
                scaled = loss_sum * (self.info.world / sizes[offset])
                self.optimizer.zero_grad(set_to_none=True)
                if self.scaler is not None:
                    self.scaler.scale(scaled).backward()
                    self.scaler.unscale_(self.optimizer)
                else:
                    scaled.backward()
                if cfg.grad_clip is not None:
                    torch.nn.utils.clip_grad_norm_(self.model.trainable_parameters(), cfg.grad_clip)
                if self.scaler is not None:
                    self.scaler.step(self.optimizer)
                    self.scaler.update()
                else:
                    self.optimizer.step()
                self.scheduler.step()
                self.global_step += 1
                loss_value = float(loss_sum.detach()) / local
                self.state["epoch_loss_sum"] += float(loss_sum.detach())
                self.state["epoch_count"] += local
                self.state["epoch"], self.state["batch"] = epoch, batch_index + 1
                seen += local * self.info.world
                speed = seen / max(time.perf_counter() - t_epoch, 1e-9)
                bar.set_postfix(loss=f"{loss_value:.4f}", samples_per_s=f"{speed:.1f}")
                bar.update(1)
                if self.global_step % cfg.log_every == 0 or self.global_step == 1:
                    self._log(
                        {"kind": "train", "step": self.global_step, "epoch": epoch + 1, "loss": loss_value,
                         "lr": self.scheduler.get_last_lr()[0], "samples_per_s": speed}
                    )
                done = self.global_step >= self.total_steps
                last_batch = batch_index + 1 == self.steps_per_epoch
                if cfg.checkpoint_every and self.global_step % cfg.checkpoint_every == 0 and not (done or last_batch):
                    self._save(("last",))
                if self.callback is not None:
                    self.callback({"step": self.global_step, "epoch": epoch + 1, "loss": loss_value})
                if done:
                    break
            bar.close()
            self._end_epoch(epoch, time.perf_counter() - t_start)
        history: list[dict[str, Any]] = []
        if self.info.is_main:
            records = _read_records(self.run_dir / METRICS_FILE)
            history = [r for r in records if r.get("kind") == "val"]
            try:
                from .plots import plot_curves

                plot_curves(records, self.run_dir / CURVES_FILE)
            except ImportError:
                warnings.warn("matplotlib is not installed: no training-curve PNG", stacklevel=1)
        barrier(self.info)
        return TrainResult(
            self.run_dir,
            ckpt_io.read_pointer(self.run_dir, "last"),
            ckpt_io.read_pointer(self.run_dir, "best"),
            self.global_step,
            history,
        )

    def _end_epoch(self, epoch: int, elapsed: float) -> None:
        train_sums = reduce_sums(
            {"loss": self.state["epoch_loss_sum"], "count": self.state["epoch_count"]}, self.info, self.device
        )
        record: dict[str, Any] = {
            "kind": "val",
            "epoch": epoch + 1,
            "step": self.global_step,
            "train_loss": train_sums["loss"] / max(train_sums["count"], 1.0),
            "lr": self.scheduler.get_last_lr()[0],
            "elapsed_s": round(elapsed, 3),
        }
        record.update(self.validate())
        # the next position: the start of the next epoch
        self.state.update({"epoch": epoch + 1, "batch": 0, "epoch_loss_sum": 0.0, "epoch_count": 0.0})
        pointers: tuple[str, ...] = ("last",)
        metric = self.cfg.monitor_metric
        value = record.get(metric)
        if value is not None:
            # lower is better: loss, or (-accuracy, loss) so that ties in accuracy go to the lower loss
            key = [-value, record["val_loss"]] if metric == "val_accuracy" else [value]
            best = self.state["best_metric"]
            if best is None or key < best:
                value = key
                self.state["best_metric"], self.state["best_step"] = value, self.global_step
                pointers = ("last", "best")
        elif self.state["best_step"] is None or not self.val_examples:
            pointers = ("last", "best")  # no validation data: the latest is the best we know
        self._log(record)
        self._save(pointers)
        if self.info.is_main:
            summary = ", ".join(f"{k} {v:.4f}" for k, v in record.items() if k.startswith(("train_loss", "val_")) and isinstance(v, float))
            self.say(f"epoch {epoch + 1}: {summary}")

    @torch.no_grad()
    def validate(self) -> dict[str, Any]:
        if not self.val_examples:
            return {}
        cfg = self.cfg
        self.model.eval()
        indices = np.arange(len(self.val_set))[self.info.rank :: self.info.world]
        per_rank = max(1, cfg.batch_size // self.info.world)
        batches = [indices[i : i + per_rank].tolist() for i in range(0, len(indices), per_rank)]
        loader = torch.utils.data.DataLoader(
            self.val_set, batch_sampler=batches, collate_fn=self.collate, num_workers=cfg.num_workers
        )
        accs = {name: HeadMetrics(h.resolved_task, len(self.label_maps.get(h.target, []))) for name, h in cfg.heads.items()}
        for inputs, targets in loader:
            with _autocast(self.device, cfg.mixed_precision):
                outputs = self.model(move_to(inputs, self.device, non_blocking=True))
            targets = move_to(targets, self.device, non_blocking=True)
            for name, h in cfg.heads.items():
                accs[name].update(outputs[name], targets[h.target])
        sums: dict[str, float] = {}
        for name, acc in accs.items():
            sums.update(acc.as_sums(name))
        sums = reduce_sums(sums, self.info, self.device)
        out: dict[str, Any] = {"val_loss": 0.0}
        accuracy, mae = [], []
        for name, acc in accs.items():
            acc.load_sums(sums, name)
            res = acc.results()
            out["val_loss"] += cfg.heads[name].loss_weight * res["loss"]
            if "accuracy" in res:
                accuracy.append(res["accuracy"])
                extra = {"accuracy": res["accuracy"], "macro_f1": res["macro_f1"]}
            else:
                mae.append(res["mae"])
                extra = {"mae": res["mae"], "mse": res["mse"]}
            for k, v in extra.items():
                out[f"val_{k}" if len(accs) == 1 else f"val_{name}_{k}"] = v
        if len(accs) > 1 and accuracy:
            out["val_accuracy"] = float(np.mean(accuracy))
        return out


__all__ = ["TrainResult", "train", "RunError"]
