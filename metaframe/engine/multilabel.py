"""Multi-label classification: targets as label sets, multi-hot encoding, mAP and F1.

A sample carries any number of the classes (AudioSet-style). The head is the ordinary
classification head; its logits are scored one sigmoid per class (BCE with logits).

Average precision needs every sample's score, not sums, so a multi-label head keeps its
per-sample scores; under ``torchrun`` validation gathers them from every process
(``gather_rows``) before the metrics are computed on each.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

import numpy as np

from metaframe_registry import ConfigError


class LabelSet(tuple):  # type: ignore[type-arg]
    """The labels of one multi-label target, sorted (hashable, so stratified limits group by it)."""


def parse_label_set(value: Any, where: str, target: str) -> LabelSet:
    """A manifest cell or in-memory value → its labels.

    Accepted: a list / tuple / set of labels (JSONL, in-memory data), a JSON list in a text cell
    (``'["dog", "cat"]'``), or labels separated by ``;`` (``"dog;cat"``; an empty cell is no label).
    """
    if isinstance(value, LabelSet):
        return value
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{where}: target {target!r}: {text!r} is not a JSON list ({exc.msg})") from None
        else:
            value = [part.strip() for part in text.split(";") if part.strip()]
    if not isinstance(value, (list, tuple, set, frozenset)):
        raise ConfigError(
            f"{where}: target {target!r} is a multi-label target; expected a list of labels or 'a;b', found {value!r}"
        )
    labels = {v.item() if hasattr(v, "item") else v for v in value}
    return LabelSet(sorted(labels, key=lambda v: (type(v).__name__, v)))


def multi_hot(labels: LabelSet, classes: list[Any], where: str, target: str) -> list[int]:
    """``[0/1] * len(classes)``: 1 where the sample carries the class."""
    row = [0] * len(classes)
    for label in labels:
        try:
            row[classes.index(label)] = 1
        except ValueError:
            raise ConfigError(
                f"{where}: target {target!r} has label {label!r}, which the training data does not contain "
                f"(known: {', '.join(map(str, classes[:20]))})"
            ) from None
    return row


def average_precision(scores: np.ndarray, positives: np.ndarray) -> float:
    """Area under the precision-recall steps of one class (``nan`` without positives).

    Sorted by descending score, AP is the mean, over the positives, of the precision at each
    positive's rank; tied scores share the precision at the end of their tie (as scikit-learn).
    """
    positives = positives.astype(bool)
    n_pos = int(positives.sum())
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], positives[order]
    tp = np.cumsum(y)
    # the last index of each run of equal scores: a threshold counts the whole tie
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
    tp_at, seen_at = tp[last], last + 1
    precision = tp_at / seen_at
    recall_gain = np.diff(np.r_[0, tp_at]) / n_pos
    return float((precision * recall_gain).sum())


def multilabel_metrics(scores: np.ndarray, targets: np.ndarray, threshold: float = 0.5) -> dict[str, Any]:
    """mAP (macro over classes with a positive), per-class AP and F1 at ``threshold``, micro- and macro-F1.

    ``scores`` are probabilities ``[N, C]`` (sigmoid of the logits), ``targets`` multi-hot ``[N, C]``.
    """
    scores = np.asarray(scores, dtype=np.float64).reshape(len(scores), -1)
    targets = np.asarray(targets).reshape(scores.shape).astype(bool)
    num_classes = scores.shape[1]
    ap = np.array([average_precision(scores[:, c], targets[:, c]) for c in range(num_classes)])
    pred = scores >= threshold
    tp = (pred & targets).sum(0).astype(np.float64)
    fp = (pred & ~targets).sum(0).astype(np.float64)
    fn = (~pred & targets).sum(0).astype(np.float64)
    denom = 2 * tp + fp + fn
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    present = targets.any(0) | pred.any(0)
    micro_denom = 2 * tp.sum() + fp.sum() + fn.sum()
    has_ap = ~np.isnan(ap)
    return {
        "mAP": float(ap[has_ap].mean()) if has_ap.any() else 0.0,
        "micro_f1": float(2 * tp.sum() / micro_denom) if micro_denom else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "per_class_ap": [None if np.isnan(v) else float(v) for v in ap],
        "per_class_f1": f1.tolist(),
        "threshold": threshold,
    }


def gather_rows(rows: np.ndarray, info: Any) -> np.ndarray:
    """Every process's rows, concatenated in rank order (the rows themselves when not distributed)."""
    if not getattr(info, "enabled", False):
        return rows
    import torch.distributed as dist

    parts: list[Any] = [None] * info.world
    dist.all_gather_object(parts, rows)
    return np.concatenate([p for p in parts if p is not None and len(p)], axis=0) if any(len(p) for p in parts) else rows


def label_counts(examples: Sequence[Any], target: str, classes: list[Any], multilabel: bool) -> np.ndarray:
    """How many training samples carry each class (for ``class_weights: balanced``)."""
    counts = np.zeros(len(classes), dtype=np.float64)
    index = {c: i for i, c in enumerate(classes)}
    for example in examples:
        value = example.targets[target]
        labels = value if multilabel else [value.item() if hasattr(value, "item") and np.ndim(value) == 0 else value]
        for label in labels:
            if label in index:
                counts[index[label]] += 1
    return counts
