"""PNG figures (matplotlib, Agg backend: no display needed): training curves, confusion matrix."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from metaframe.atomic import atomic_path


def _pyplot():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def plot_curves(records: Sequence[dict[str, Any]], path: Path) -> None:
    """Loss against step (train and validation) and the validation metrics against step."""
    plt = _pyplot()
    train = [r for r in records if r.get("kind") == "train"]
    val = [r for r in records if r.get("kind") == "val" and "val_loss" in r]  # none without validation data
    fig, (ax_loss, ax_metric) = plt.subplots(1, 2, figsize=(10, 4))
    if train:
        ax_loss.plot([r["step"] for r in train], [r["loss"] for r in train], label="train loss", alpha=0.8)
    if val:
        ax_loss.plot([r["step"] for r in val], [r["val_loss"] for r in val], "o-", label="validation loss")
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("loss")
    ax_loss.legend()
    metric_keys = [k for k in (val[0] if val else {}) if k.startswith("val_") and k != "val_loss"]
    # an align run's median ranks count rows, not fractions: they would flatten the recall curves
    metric_keys = [k for k in metric_keys if isinstance(val[0][k], (int, float)) and not k.endswith("_median_rank")]
    for key in metric_keys:
        ax_metric.plot([r["step"] for r in val], [r[key] for r in val], "o-", label=key)
    ax_metric.set_xlabel("step")
    ax_metric.set_ylabel("validation metric")
    if metric_keys:
        ax_metric.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=80)
    plt.close(fig)


def plot_confusion(matrix: Sequence[Sequence[int]], classes: Sequence[Any], path: Path, title: str = "") -> None:
    plt = _pyplot()
    n = len(classes)
    size = min(12.0, 2.0 + 0.5 * n)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(n), [str(c) for c in classes], rotation=90 if n > 6 else 0)
    ax.set_yticks(range(n), [str(c) for c in classes])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if n <= 20:
        top = max(max(row) for row in matrix) or 1
        for i in range(n):
            for j in range(n):
                colour = "white" if matrix[i][j] > top / 2 else "black"
                ax.text(j, i, str(matrix[i][j]), ha="center", va="center", fontsize=8, color=colour)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=80)
    plt.close(fig)
