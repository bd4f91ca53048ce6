"""``metaframe.evaluate``: a trained run on labelled data → a JSON report (and confusion PNGs).

Classification: accuracy, macro-F1, confusion matrix; multi-label: mAP, per-class AP and F1,
micro- / macro-F1 at threshold 0.5; regression and forecasting: MAE, MSE.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from metaframe.atomic import atomic_write_text
from metaframe.device import move_to
from metaframe.threads import apply_threads, worker_init

from .data import build_splits, load_examples
from .loader import Collator, ExampleDataset
from .metrics import HeadMetrics
from .run import load_run


def evaluate(
    run_dir: str | Path,
    data: str | Path | None = None,
    *,
    out: str | Path | None = None,
    checkpoint: str = "best",
    batch_size: int | None = None,
    num_workers: int = 0,
    device: str = "auto",
    encoder: torch.nn.Module | None = None,
    quiet: bool = False,
    token_merging: Any = None,
) -> dict[str, Any]:
    """Evaluate ``run_dir``'s model on ``data`` (default: the run's own validation split).

    ``data`` is read like the training data (class folders, CSV / JSONL manifest, plugin
    dataset) with the run's column settings. Writes ``report.json`` (and per classification
    head ``confusion_<head>.json`` / ``.png``) into ``out`` (default ``RUN_DIR/eval``).
    ``device``: auto (CUDA when available, else CPU), cpu, cuda, cuda:N or mps.
    ``token_merging`` (``TokenMerging`` or an int r): merge tokens in the frozen encoder for this
    evaluation (``load_run``'s option; by default what the run config says).
    """
    from tqdm.auto import tqdm

    from metaframe.api import get_modality

    model = load_run(run_dir, checkpoint=checkpoint, encoder=encoder, device=device, token_merging=token_merging)
    info = model.run_info  # type: ignore[attr-defined]
    cfg = info.config
    apply_threads(num_workers, cfg.threads)
    if data is not None:
        examples = load_examples(data, cfg, "--data")
        what = str(data)
    else:
        if cfg.data.train is None:
            from metaframe_registry import ConfigError

            raise ConfigError(f"{run_dir}: the run was trained on in-memory data; pass the data to evaluate (--data)")
        _, examples = build_splits(cfg)
        what = "validation split of the run's training data"
        if not examples:
            from metaframe_registry import ConfigError

            raise ConfigError(f"{run_dir}: the run has no validation split; pass --data")
    if cfg.align is not None:  # an aligned run: retrieval per modality pair (metaframe.engine.align)
        return _evaluate_aligned(model, examples, what, run_dir, out, batch_size or cfg.batch_size, num_workers, quiet)
    modalities = {m: get_modality(m) for m in cfg.modality_names}
    targets = [h.target for h in cfg.heads.values()]
    readers = {m: c.reader for m, c in cfg.modalities.items()}
    dataset = ExampleDataset(examples, modalities, readers, info.label_maps, targets)
    bs = batch_size or cfg.batch_size
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=bs, shuffle=False, collate_fn=Collator(modalities, list(info.label_maps)),
        num_workers=num_workers, worker_init_fn=worker_init,
    )
    accs = {n: HeadMetrics(h.resolved_task, len(info.label_maps.get(h.target, []))) for n, h in cfg.heads.items()}
    dev = next(model.parameters()).device
    with torch.no_grad():
        for inputs, tgts in tqdm(loader, desc="evaluate", disable=quiet, unit="batch"):
            outputs = model(move_to(inputs, dev, non_blocking=True))
            for name, h in cfg.heads.items():
                accs[name].update(outputs[name], tgts[h.target].to(dev))
    out_dir = Path(out) if out is not None else Path(run_dir) / "eval"
    report: dict[str, Any] = {
        "run": str(run_dir),
        "checkpoint": str(info.checkpoint),
        "data": what,
        "count": len(examples),
        "heads": {},
    }
    for name, acc in accs.items():
        head = cfg.heads[name]
        res = {"task": head.resolved_task, "target": head.target, **acc.results()}
        if head.resolved_task == "classification":
            classes = info.label_maps[head.target]
            res["classes"] = classes
            res["chance_accuracy"] = _chance(acc.confusion)
            cm = {"classes": classes, "rows": "true", "columns": "predicted", "matrix": res["confusion_matrix"]}
            atomic_write_text(out_dir / f"confusion_{name}.json", json.dumps(cm, indent=2, default=str) + "\n")
            try:
                from .plots import plot_confusion

                plot_confusion(res["confusion_matrix"], classes, out_dir / f"confusion_{name}.png", f"{name}: {what}")
            except ImportError:
                print("warning: matplotlib is not installed: no confusion-matrix PNG", file=sys.stderr)
        elif head.resolved_task == "multilabel":
            res["classes"] = info.label_maps[head.target]
        report["heads"][name] = res
    atomic_write_text(out_dir / "report.json", json.dumps(report, indent=2, default=str) + "\n")
    report["report_path"] = str(out_dir / "report.json")
    return report


def _evaluate_aligned(
    model: Any, examples: list[Any], what: str, run_dir: str | Path, out: str | Path | None, batch_size: int,
    num_workers: int, quiet: bool,
) -> dict[str, Any]:
    from .align import evaluate_align, paired_examples

    info = model.run_info
    examples = paired_examples(examples, info.config, "--data")
    report: dict[str, Any] = {
        "run": str(run_dir), "checkpoint": str(info.checkpoint), "data": what, "count": len(examples),
        "retrieval": evaluate_align(model, examples, batch_size, num_workers, quiet),
    }
    out_dir = Path(out) if out is not None else Path(run_dir) / "eval"
    atomic_write_text(out_dir / "report.json", json.dumps(report, indent=2, default=str) + "\n")
    report["report_path"] = str(out_dir / "report.json")
    return report


def _chance(confusion: np.ndarray) -> float:
    """Accuracy of always predicting the most frequent true class."""
    total = confusion.sum()
    return float(confusion.sum(1).max() / total) if total else 0.0


def summary_lines(report: dict[str, Any]) -> list[str]:
    if "retrieval" in report:
        from .align import summary_lines as align_lines

        return align_lines(report)
    lines = [f"{report['run']} on {report['data']} ({report['count']} samples)"]
    for name, res in report["heads"].items():
        if res["task"] == "classification":
            lines.append(
                f"  {name}: accuracy {res['accuracy']:.4f} (majority class {res['chance_accuracy']:.4f}), "
                f"macro-F1 {res['macro_f1']:.4f}, loss {res['loss']:.4f}"
            )
        elif res["task"] == "multilabel":
            lines.append(
                f"  {name}: mAP {res['mAP']:.4f}, micro-F1 {res['micro_f1']:.4f}, macro-F1 {res['macro_f1']:.4f} "
                f"(threshold {res['threshold']}), loss {res['loss']:.4f}"
            )
        else:
            lines.append(f"  {name}: MAE {res['mae']:.4f}, MSE {res['mse']:.4f}")
    return lines
