"""The run directory's readable files: the resolved config, labels, metrics.jsonl, curves.png.

Only rank 0 writes; checkpoints are ``checkpoint.py``'s.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from metaframe.atomic import atomic_write_text

from .checkpoint import CONFIG_FILE
from .config import TrainConfig, config_to_dict
from .recipes import ResolvedConfig, provenance_comment

METRICS_FILE = "metrics.jsonl"
CURVES_FILE = "curves.png"

__all__ = ["CONFIG_FILE", "CURVES_FILE", "METRICS_FILE", "append_record", "finish_files", "read_records", "start_files"]


def read_records(path: Path, upto_step: int | None = None) -> list[dict[str, Any]]:
    """The metrics lines of ``path`` (none when it does not exist), up to ``upto_step``."""
    if not path.is_file():
        return []
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if upto_step is not None:
        records = [r for r in records if r.get("step", 0) <= upto_step]
    return records


def append_record(run_dir: Path, record: dict[str, Any]) -> None:
    with open(run_dir / METRICS_FILE, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")


def start_files(
    run_dir: Path,
    cfg: TrainConfig,
    resolved: ResolvedConfig | None,
    label_maps: dict[str, list[Any]],
    resumed_at: int | None,
    write_config: bool = True,
) -> None:
    """Write config.yaml (unless not ``write_config``: a resume that changes nothing keeps the
    run's own) and labels.json; a resumed run keeps its metrics up to ``resumed_at``."""
    import yaml

    run_dir.mkdir(parents=True, exist_ok=True)
    data = config_to_dict(cfg)
    data["output_dir"] = str(run_dir)
    text = yaml.safe_dump(data, sort_keys=False)
    if resolved is not None:
        text += provenance_comment(resolved)
    if write_config or not (run_dir / CONFIG_FILE).is_file():
        atomic_write_text(run_dir / CONFIG_FILE, text)
    atomic_write_text(run_dir / "labels.json", json.dumps(label_maps, indent=2, default=str) + "\n")
    path = run_dir / METRICS_FILE
    if resumed_at is not None:
        kept = read_records(path, resumed_at)
        atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in kept))
    elif path.exists():
        path.unlink()


def finish_files(run_dir: Path) -> list[dict[str, Any]]:
    """Plot the curves (when matplotlib is there) and return the per-epoch validation records."""
    records = read_records(run_dir / METRICS_FILE)
    try:
        from .plots import plot_curves

        plot_curves(records, run_dir / CURVES_FILE)
    except ImportError:
        warnings.warn("matplotlib is not installed: no training-curve PNG", stacklevel=2)
    return [r for r in records if r.get("kind") == "val"]
