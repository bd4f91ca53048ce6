"""Losses and metrics per head: accumulated as sums, so processes can add them up."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F


def head_loss_sum(task: str, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Sum over the batch of each sample's loss (cross-entropy, or mean squared error per sample)."""
    if task == "classification":
        return F.cross_entropy(output.float(), target, reduction="sum")
    pred = output.float().reshape(target.shape)
    per_sample = (pred - target).pow(2).reshape(target.shape[0], -1).mean(1)
    return per_sample.sum()


class HeadMetrics:
    """Running sums for one head: loss, and a confusion matrix or absolute / squared errors."""

    def __init__(self, task: str, num_classes: int = 0) -> None:
        self.task = task
        self.num_classes = num_classes
        self.sums: dict[str, float] = {"loss": 0.0, "count": 0.0}
        self.confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
        self.sums.update({"abs": 0.0, "sq": 0.0, "elements": 0.0})

    @torch.no_grad()
    def update(self, output: torch.Tensor, target: torch.Tensor) -> None:
        self.sums["loss"] += float(head_loss_sum(self.task, output, target))
        self.sums["count"] += target.shape[0]
        if self.task == "classification":
            pred = output.argmax(-1).cpu().numpy()
            np.add.at(self.confusion, (target.cpu().numpy(), pred), 1)
        else:
            diff = output.float().reshape(target.shape) - target
            self.sums["abs"] += float(diff.abs().sum())
            self.sums["sq"] += float(diff.pow(2).sum())
            self.sums["elements"] += diff.numel()

    def as_sums(self, prefix: str) -> dict[str, float]:
        out = {f"{prefix}.{k}": v for k, v in self.sums.items()}
        for (i, j), v in np.ndenumerate(self.confusion):
            out[f"{prefix}.cm.{i}.{j}"] = float(v)
        return out

    def load_sums(self, sums: dict[str, float], prefix: str) -> None:
        for k in self.sums:
            self.sums[k] = sums[f"{prefix}.{k}"]
        for (i, j), _ in np.ndenumerate(self.confusion):
            self.confusion[i, j] = int(round(sums[f"{prefix}.cm.{i}.{j}"]))

    def results(self) -> dict[str, Any]:
        n = max(self.sums["count"], 1.0)
        out: dict[str, Any] = {"loss": self.sums["loss"] / n, "count": int(self.sums["count"])}
        if self.task == "classification":
            out.update(classification_metrics(self.confusion))
        else:
            e = max(self.sums["elements"], 1.0)
            out.update({"mae": self.sums["abs"] / e, "mse": self.sums["sq"] / e})
        return out


def classification_metrics(confusion: np.ndarray) -> dict[str, Any]:
    """Accuracy, macro-F1 (over classes present in targets or predictions) and the matrix."""
    total = confusion.sum()
    tp = np.diag(confusion).astype(np.float64)
    support = confusion.sum(1)
    predicted = confusion.sum(0)
    present = (support + predicted) > 0
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return {
        "accuracy": float(tp.sum() / total) if total else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "per_class_f1": f1.tolist(),
        "confusion_matrix": confusion.tolist(),
    }
