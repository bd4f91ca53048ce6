"""The engine's side of ``align`` runs: paired examples, their batches, the loss step, validation.

A paired manifest has one column per modality and one row per pair or tuple; an empty cell
(or a key a JSONL record leaves out) means the row lacks that modality, and the row pairs
whatever it has. A batch carries, per modality, the collated samples of the rows that have it and
a presence mask over the batch's rows (``metaframe.contrastive`` contrasts the rows holding both
modalities of a pair).
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Sequence

import numpy as np
import torch

from metaframe_registry import ConfigError

from metaframe.contrastive import contrastive_loss, gather_batch, trained_pairs
from metaframe.device import move_to
from metaframe.modality import Modality
from metaframe.retrieval import retrieval_metrics

from .data import Example
from .loader import ExampleDataset

KS = (1, 5, 10)


def is_missing(value: Any) -> bool:
    """An empty manifest cell: None, '' (CSV), or NaN (a table reader's empty number)."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, float):
        return math.isnan(value)
    return False


def tuple_example(item: Any, modalities: Sequence[str], name: str, where: str) -> Example:
    """One pair or tuple given as a dict ``{modality: source}``: in-memory ``train_data`` / ``val_data``
    items and the items of a plugin's dataset in an align run. Each source is read by its modality's
    reader, as a manifest cell is; a missing key or an empty value (None, '', NaN) is a modality the
    tuple lacks, like an empty cell."""
    if not isinstance(item, dict):
        raise ConfigError(
            f"{where}: found {type(item).__name__}; an align run expects a dict {{modality: source}} per pair or tuple "
            f"(keys among {', '.join(modalities)})"
        )
    unknown = [str(k) for k in item if k not in modalities]
    if unknown:
        raise ConfigError(
            f"{where}: key(s) {', '.join(repr(k) for k in unknown)} — not a modality of this run ({', '.join(modalities)})"
        )
    inputs = {m: v for m, v in item.items() if not is_missing(v)}
    return Example(inputs, {}, name)


def paired_examples(examples: list[Example], config: Any, what: str, required: bool = True) -> list[Example]:
    """The examples holding two or more of the run's modalities (a lone cell has nothing to pair with)."""
    for e in examples:
        e.inputs = {m: v for m, v in e.inputs.items() if not is_missing(v)}
    kept = [e for e in examples if len(e.inputs) >= 2]
    if required and not kept:
        names = ", ".join(config.modality_names)
        counts = ", ".join(f"{m} {sum(m in e.inputs for e in examples)}" for m in config.modality_names)
        raise ConfigError(
            f"{what}: no row pairs two modalities ({names}); an align run needs rows with two or more filled cells "
            f"(filled cells per column: {counts})"
        )
    return kept


class PairedCollator:
    """Per modality the collate of the rows that have it; ``targets`` are the presence masks ``[B]``."""

    def __init__(self, modalities: dict[str, Modality]) -> None:
        self.modalities = modalities

    def __call__(self, items: list[tuple[dict[str, Any], dict[str, Any]]]) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        inputs, present = {}, {}
        for m, mod in self.modalities.items():
            mask = [m in it[0] for it in items]
            present[m] = torch.tensor(mask, dtype=torch.bool)
            if any(mask):
                inputs[m] = mod.collate([it[0][m] for it in items if m in it[0]])
        return inputs, present


def step_loss(s: Any, inputs: dict[str, Any], present: dict[str, torch.Tensor]) -> torch.Tensor | None:
    """The global batch's contrastive loss on this process (None: no pair has a negative)."""
    from .epoch import autocast

    with autocast(s.device, s.cfg.mixed_precision):
        embeddings, scale = s.net(inputs)
    gathered, masks = gather_batch(embeddings, present)
    loss, _ = contrastive_loss(gathered, masks, scale, trained_pairs(s.cfg.modality_names, s.cfg.align.anchor))
    if loss is None:
        warnings.warn(
            "align: a batch without two rows sharing a pair of modalities (no negatives): its step is skipped",
            stacklevel=2,
        )
        # every process runs a backward all the same: the gathers' backward passes are collectives
        zero = sum(e.sum() for e in gathered.values()) * 0.0 + scale * 0.0
        zero.backward()
        s.optimizer.zero_grad(set_to_none=True)
    return loss


# -- validation ------------------------------------------------------------------------------


@torch.no_grad()
def embed_examples(
    model: Any, dataset: ExampleDataset, collate: PairedCollator, indices: Sequence[int], batch_size: int,
    device: torch.device, num_workers: int = 0, quiet: bool = True,
) -> dict[str, np.ndarray]:
    """Per modality ``[len(indices), dim]`` embeddings, NaN rows where an example lacks it."""
    from tqdm.auto import tqdm

    from metaframe.threads import worker_init

    dim = next(iter(model.heads.values())).proj.out_features
    out = {m: np.full((len(indices), dim), np.nan, dtype=np.float32) for m in model.modalities}
    batches = [list(indices[i : i + batch_size]) for i in range(0, len(indices), batch_size)]
    loader = torch.utils.data.DataLoader(
        dataset, batch_sampler=batches, collate_fn=collate, num_workers=num_workers, worker_init_fn=worker_init
    )
    start = 0
    for inputs, present in tqdm(loader, desc="embed pairs", unit="batch", disable=quiet):
        rows = np.arange(start, start + len(next(iter(present.values()))))
        for m, batch in inputs.items():
            vec = model.embed(m, move_to(batch, device, non_blocking=True)).float().cpu().numpy()
            out[m][rows[present[m].numpy()]] = vec
        start += len(rows)
    return out


def space_metrics(
    embeddings: dict[str, np.ndarray], modalities: Sequence[str], anchor: str | None, scale: float
) -> dict[str, float]:
    """Recall@1/5/10 both ways and median ranks for every modality pair with two or more shared rows,
    the InfoNCE loss of the trained pairs (``loss``) and their mean recall@1 (``mean_recall@1``)."""
    out: dict[str, float] = {}
    losses, recalls = [], []
    trained = set(trained_pairs(modalities, anchor))
    for a, b in trained_pairs(modalities, None):
        both = ~np.isnan(embeddings[a][:, 0]) & ~np.isnan(embeddings[b][:, 0])
        if both.sum() < 2:
            continue
        ea, eb = torch.from_numpy(embeddings[a][both]), torch.from_numpy(embeddings[b][both])
        metrics = retrieval_metrics(ea, eb, (a, b), KS)
        metrics[f"{a}_{b}_pairs"] = float(both.sum())
        out.update(metrics)
        if (a, b) in trained or (b, a) in trained:
            from metaframe.contrastive import info_nce

            losses.append(float(info_nce(ea, eb, torch.tensor(scale))))
            recalls += [metrics[f"{a}_to_{b}_recall@1"], metrics[f"{b}_to_{a}_recall@1"]]
    if losses:
        out["loss"] = float(np.mean(losses))
        out["mean_recall@1"] = float(np.mean(recalls))
    return out


def validate_align(s: Any) -> dict[str, Any]:
    """``val_loss``, ``val_mean_recall@1`` and ``val_{a}_to_{b}_recall@k`` / ``_median_rank`` per pair."""
    from .multilabel import gather_rows

    s.model.eval()
    indices = np.arange(len(s.val_set))[s.info.rank :: s.info.world].tolist()
    per_rank = max(1, s.cfg.batch_size // s.info.world)
    local = embed_examples(s.model, s.val_set, s.collate, indices, per_rank, s.device, s.cfg.num_workers)
    gathered = {m: gather_rows(v, s.info) for m, v in local.items()}
    align = s.cfg.align
    metrics = space_metrics(gathered, s.cfg.modality_names, align.anchor, float(s.model.scale().detach()))
    if "loss" not in metrics:
        return {}
    out = {"val_loss": metrics.pop("loss"), "val_mean_recall@1": metrics.pop("mean_recall@1")}
    out["logit_scale"] = float(s.model.scale().detach())
    out.update({f"val_{k}": v for k, v in metrics.items() if not k.endswith("_pairs")})
    return out


def evaluate_align(model: Any, examples: list[Example], batch_size: int, num_workers: int, quiet: bool) -> dict[str, Any]:
    """``metaframe evaluate`` of an aligned run on paired data: retrieval per modality pair."""
    from metaframe.api import get_modality

    cfg = model.run_info.config
    modalities = {m: get_modality(m) for m in cfg.modality_names}
    readers = {m: c.reader for m, c in cfg.modalities.items()}
    dataset = ExampleDataset(examples, modalities, readers, {}, [])  # pairs: no targets
    dev = next(model.parameters()).device
    emb = embed_examples(model, dataset, PairedCollator(modalities), list(range(len(examples))), batch_size, dev, num_workers, quiet)
    metrics = space_metrics(emb, cfg.modality_names, cfg.align.anchor, float(model.scale().detach()))
    trained = trained_pairs(cfg.modality_names, cfg.align.anchor)
    pairs: dict[str, Any] = {}
    for a, b in trained_pairs(cfg.modality_names, None):
        if f"{a}_{b}_pairs" not in metrics:
            continue
        n = int(metrics[f"{a}_{b}_pairs"])
        entry: dict[str, Any] = {"pairs": n, "trained": (a, b) in trained or (b, a) in trained}
        for x, y in ((a, b), (b, a)):
            entry[f"{x}_to_{y}"] = {
                **{f"recall@{k}": metrics[f"{x}_to_{y}_recall@{k}"] for k in KS},
                "median_rank": metrics[f"{x}_to_{y}_median_rank"],
                "chance_recall@1": 1.0 / n,
            }
        pairs[f"{a}-{b}"] = entry
    if not pairs:
        raise ConfigError(
            "--data: no two rows share a pair of the run's modalities "
            f"({', '.join(cfg.modality_names)}); retrieval needs paired rows"
        )
    return {"loss": metrics.get("loss"), "mean_recall@1": metrics.get("mean_recall@1"), "pairs": pairs}


def summary_lines(report: dict[str, Any]) -> list[str]:
    """``evaluate``'s lines for an aligned run: recall@1/5/10 and median rank per direction."""
    lines = [f"{report['run']} on {report['data']} ({report['count']} rows)"]
    for name, entry in report["retrieval"]["pairs"].items():
        tag = "" if entry["trained"] else " (not trained together: emergent)"
        lines.append(f"  {name}: {entry['pairs']} pairs{tag}")
        for direction, m in entry.items():
            if isinstance(m, dict):
                lines.append(
                    f"    {direction}: R@1 {m['recall@1']:.4f} R@5 {m['recall@5']:.4f} R@10 {m['recall@10']:.4f} "
                    f"median rank {m['median_rank']:.0f} (chance R@1 {m['chance_recall@1']:.4f})"
                )
    return lines

