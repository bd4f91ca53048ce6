"""Training checkpoints: a directory per saved step, named by small atomic pointer files.

    checkpoints/step-00000040/  model.safetensors      trainable parts only (never the encoder)
                                optimizer.safetensors  optimiser tensors, flattened
                                optimizer.json         optimiser structure and scalars
                                rng.safetensors        torch (and CUDA) generator states
                                labels.json            class lists per target
                                encoder.json           preset + sha256 of the frozen weights
                                fitted_<modality>.json fitted tokenizer statistics
                                state.json             epoch, step, scheduler, RNG, best — written last
    checkpoints/last.json, checkpoints/best.json  → {"dir": "step-00000040", ...}

Every file is written atomically and the pointer only after the directory is complete, so a
run killed at any moment resumes from the last complete checkpoint.
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from metaframe.atomic import atomic_path, atomic_write_text

from .errors import EncoderMismatchError, RunError

CHECKPOINTS = "checkpoints"
CONFIG_FILE = "config.yaml"


def _dump(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    clean = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    with atomic_path(path) as tmp:
        save_file(clean, str(tmp), metadata=metadata)


# -- optimiser: tensors into safetensors, structure into JSON -------------------------------


def flatten_optimizer(state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors: dict[str, torch.Tensor] = {}
    structure: dict[str, Any] = {"param_groups": state["param_groups"], "state": {}}
    for idx, entry in state["state"].items():
        kinds: dict[str, Any] = {}
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"state.{idx}.{key}"] = value
                kinds[key] = "tensor"
            else:
                kinds[key] = {"value": value}
        structure["state"][str(idx)] = kinds
    return tensors, structure


def unflatten_optimizer(tensors: dict[str, torch.Tensor], structure: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for idx, kinds in structure["state"].items():
        state[int(idx)] = {
            key: tensors[f"state.{idx}.{key}"] if kind == "tensor" else kind["value"] for key, kind in kinds.items()
        }
    return {"state": state, "param_groups": structure["param_groups"]}


# -- random generators ---------------------------------------------------------------------


def rng_state() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"cuda.{i}"] = s
    np_state = np.random.get_state()
    plain = {
        "python": random.getstate(),
        "numpy": [np_state[0], np_state[1].tolist(), *np_state[2:]],
    }
    return tensors, plain


def set_rng_state(tensors: dict[str, torch.Tensor], plain: dict[str, Any]) -> None:
    torch.set_rng_state(tensors["torch"])
    cuda = [tensors[k] for k in sorted(k for k in tensors if k.startswith("cuda."))]
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
    py = plain["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = plain["numpy"]
    np.random.set_state((n[0], np.asarray(n[1], dtype=np.uint32), *n[2:]))


# -- saving and loading --------------------------------------------------------------------


@dataclass
class RunFacts:
    """What every checkpoint of a run shares: labels, target shapes, encoder, fitted statistics."""

    label_maps: dict[str, list[Any]]
    target_shapes: dict[str, list[int]]
    encoder: dict[str, Any]
    fitted: dict[str, dict[str, Any]]


def save_checkpoint(
    run_dir: Path,
    step: int,
    model_state: dict[str, torch.Tensor],
    optimizer_state: dict[str, Any],
    facts: RunFacts,
    state: dict[str, Any],
    pointers: tuple[str, ...] = ("last",),
) -> Path:
    root = run_dir / CHECKPOINTS
    name = f"step-{step:08d}"
    ckpt = root / name
    if ckpt.exists():  # an incomplete leftover of an interrupted save (pointers never named it)
        current = {read_pointer(run_dir, p) for p in ("last", "best")}
        if ckpt not in current:
            shutil.rmtree(ckpt)
    ckpt.mkdir(parents=True, exist_ok=True)
    save_tensors(ckpt / "model.safetensors", model_state, {"format": "metaframe-trainable"})
    opt_tensors, opt_structure = flatten_optimizer(optimizer_state)
    save_tensors(ckpt / "optimizer.safetensors", opt_tensors)
    _dump(ckpt / "optimizer.json", opt_structure)
    rng_tensors, rng_plain = rng_state()
    save_tensors(ckpt / "rng.safetensors", rng_tensors)
    _dump(ckpt / "labels.json", facts.label_maps)
    _dump(ckpt / "targets.json", facts.target_shapes)
    _dump(ckpt / "encoder.json", facts.encoder)
    for modality, fitted in facts.fitted.items():
        _dump(ckpt / f"fitted_{modality}.json", fitted)
    _dump(ckpt / "state.json", {**state, "step": step, "rng": rng_plain})
    for pointer in pointers:
        _dump(root / f"{pointer}.json", {"dir": name, "step": step, "epoch": state.get("epoch")})
    prune(run_dir)
    return ckpt


def read_pointer(run_dir: Path, which: str) -> Path | None:
    path = Path(run_dir) / CHECKPOINTS / f"{which}.json"
    if not path.is_file():
        return None
    return Path(run_dir) / CHECKPOINTS / json.loads(path.read_text(encoding="utf-8"))["dir"]


def prune(run_dir: Path) -> None:
    """Remove step directories no pointer names."""
    keep = {read_pointer(run_dir, p) for p in ("last", "best")}
    for d in (run_dir / CHECKPOINTS).glob("step-*"):
        if d.is_dir() and d not in keep:
            shutil.rmtree(d, ignore_errors=True)


def find_checkpoint(run_dir: str | Path, which: str = "best") -> Path:
    """The complete checkpoint directory ``which`` (best, falling back to last) of a run."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunError(f"{run_dir}: run directory not found")
    for name in (which, "last") if which == "best" else (which,):
        ckpt = read_pointer(run_dir, name)
        if ckpt is not None and (ckpt / "state.json").is_file():
            return ckpt
    raise RunError(f"{run_dir}: no complete checkpoint (expected {CHECKPOINTS}/{which}.json naming a step directory)")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def load_facts(ckpt: Path) -> RunFacts:
    fitted = {p.stem[len("fitted_") :]: read_json(p) for p in sorted(ckpt.glob("fitted_*.json"))}
    return RunFacts(
        label_maps=read_json(ckpt / "labels.json"),
        target_shapes=read_json(ckpt / "targets.json"),
        encoder=read_json(ckpt / "encoder.json"),
        fitted=fitted,
    )


def load_model_state(ckpt: Path) -> dict[str, torch.Tensor]:
    return load_file(str(ckpt / "model.safetensors"))


def load_training_state(ckpt: Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, torch.Tensor]]:
    """(optimizer state_dict, state.json, rng tensors)."""
    optimizer = unflatten_optimizer(load_file(str(ckpt / "optimizer.safetensors")), read_json(ckpt / "optimizer.json"))
    return optimizer, read_json(ckpt / "state.json"), load_file(str(ckpt / "rng.safetensors"))


def check_encoder(identity: dict[str, Any], saved: dict[str, Any], where: Path) -> None:
    """Refuse to pair a run's trainable parts with an encoder other than the one they were trained with."""
    if identity.get("sha256") != saved.get("sha256") or identity.get("embed_dim") != saved.get("embed_dim"):
        raise EncoderMismatchError(
            f"{where}: trained with encoder preset={saved.get('preset')} width={saved.get('embed_dim')} "
            f"depth={saved.get('depth')} sha256={str(saved.get('sha256'))[:16]}…, but the encoder given is "
            f"preset={identity.get('preset')} width={identity.get('embed_dim')} depth={identity.get('depth')} "
            f"sha256={str(identity.get('sha256'))[:16]}…; use the run's encoder (config encoder.preset / seed / "
            "checkpoint)"
        )
