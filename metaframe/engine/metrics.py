"""Losses and metrics per head: accumulated as sums, so processes can add them up."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from metaframe_registry import ConfigError


def head_loss_sum(
    task: str,
    output: torch.Tensor,
    target: torch.Tensor,
    label_smoothing: float = 0.0,
    weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Sum over the batch of each sample's loss (cross-entropy, BCE averaged over classes, or MSE).

    Classification takes class indices or, after mixup, class probabilities ``[B, C]``;
    multi-label takes (possibly mixed) multi-hot rows. ``weight``: one loss weight per class.
    """
    if task == "classification":
        if target.dtype.is_floating_point:
            target = target.float()
        return F.cross_entropy(output.float(), target, weight=weight, label_smoothing=label_smoothing, reduction="sum")
    if task == "multilabel":
        soft = target.float().reshape(output.shape)
        if label_smoothing:
            soft = soft * (1 - label_smoothing) + label_smoothing / 2
        per_class = F.binary_cross_entropy_with_logits(output.float(), soft, reduction="none")
        if weight is not None:
            per_class = per_class * weight
        return per_class.mean(1).sum()
    pred = output.float().reshape(target.shape)
    per_sample = (pred - target).pow(2).reshape(target.shape[0], -1).mean(1)
    return per_sample.sum()


class HeadMetrics:
    """Running sums for one head: loss, and a confusion matrix or absolute / squared errors."""

    def __init__(self, task: str, num_classes: int = 0) -> None:
        self.task = task
        self.num_classes = num_classes
        self.sums: dict[str, float] = {"loss": 0.0, "count": 0.0}
        side = num_classes if task == "classification" else 0
        self.confusion = np.zeros((side, side), dtype=np.int64)
        self.sums.update({"abs": 0.0, "sq": 0.0, "elements": 0.0})
        # multi-label: per-sample scores and targets (average precision needs the ranking, not sums)
        self.scores: list[np.ndarray] = []
        self.targets: list[np.ndarray] = []

    @torch.no_grad()
    def update(self, output: torch.Tensor, target: torch.Tensor) -> None:
        self.sums["loss"] += float(head_loss_sum(self.task, output, target))
        self.sums["count"] += target.shape[0]
        if self.task == "classification":
            pred = output.argmax(-1).cpu().numpy()
            np.add.at(self.confusion, (target.cpu().numpy(), pred), 1)
        elif self.task == "multilabel":
            self.scores.append(torch.sigmoid(output.float()).cpu().numpy())
            self.targets.append(target.reshape(output.shape).cpu().numpy().astype(np.int8))
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

    def gather(self, info: Any) -> None:
        """Multi-label: every process's scores and targets here (under torchrun; else nothing to do)."""
        from .multilabel import gather_rows

        if self.task == "multilabel":
            self.scores = [gather_rows(self._rows(self.scores), info)]
            self.targets = [gather_rows(self._rows(self.targets), info)]

    def _rows(self, parts: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(parts, 0) if parts else np.zeros((0, self.num_classes))

    def results(self) -> dict[str, Any]:
        n = max(self.sums["count"], 1.0)
        out: dict[str, Any] = {"loss": self.sums["loss"] / n, "count": int(self.sums["count"])}
        if self.task == "classification":
            out.update(classification_metrics(self.confusion))
        elif self.task == "multilabel":
            from .multilabel import multilabel_metrics

            out.update(multilabel_metrics(self._rows(self.scores), self._rows(self.targets)))
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


def class_weights(
    head_name: str, head: Any, classes: list[Any], train: Sequence[Any] | None = None
) -> list[float] | None:
    """``heads.NAME.class_weights`` as one weight per class in label order (``None``: unweighted).

    A list must have one entry per class; a mapping names classes of the label map (missing
    classes weigh 1); ``balanced`` is ``N / (C * count_c)`` over the training samples.
    """
    given = head.class_weights
    field = f"heads.{head_name}.class_weights"
    if given is None:
        return None
    if head.resolved_task not in ("classification", "multilabel"):
        raise ConfigError(f"{field}: class weights need a classification or multilabel head, found task {head.resolved_task!r}")
    if given == "balanced":
        if train is None:
            return [1.0] * len(classes)  # only the shape is needed (building a model for inference)
        from .multilabel import label_counts

        counts = label_counts(train, head.target, classes, head.resolved_task == "multilabel")
        return (len(train) / (len(classes) * np.maximum(counts, 1.0))).tolist()
    if isinstance(given, dict):
        names = {str(c): i for i, c in enumerate(classes)}
        unknown = [k for k in given if str(k) not in names]
        if unknown:
            raise ConfigError(
                f"{field}: {', '.join(map(repr, unknown))} — not a class of target {head.target!r} "
                f"(classes: {', '.join(map(str, classes[:20]))})"
            )
        weights = [1.0] * len(classes)
        for key, value in given.items():
            weights[names[str(key)]] = float(value)
    else:
        weights = [float(v) for v in given]
        if len(weights) != len(classes):
            raise ConfigError(
                f"{field}: {len(weights)} weights — expected one per class of target {head.target!r}, "
                f"{len(classes)} in label order ({', '.join(map(str, classes[:20]))})"
            )
    if any(w < 0 for w in weights) or not any(w > 0 for w in weights):
        raise ConfigError(f"{field}: {weights} — weights must be >= 0 and not all 0")
    return weights


def loss_options(cfg: Any, label_maps: dict[str, list[Any]], train: Sequence[Any], device: torch.device) -> dict[str, dict[str, Any]]:
    """Per head, the training loss's ``label_smoothing`` and class ``weight`` tensor."""
    out: dict[str, dict[str, Any]] = {}
    for name, head in cfg.heads.items():
        options: dict[str, Any] = {}
        if head.label_smoothing:
            options["label_smoothing"] = head.label_smoothing
        weights = class_weights(name, head, label_maps.get(head.target, []), train)
        if weights is not None:
            options["weight"] = torch.tensor(weights, dtype=torch.float32, device=device)
        out[name] = options
    return out
