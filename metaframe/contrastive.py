"""Cross-modal alignment: one shared embedding space over the one frozen encoder (CLIP, ImageBind).

Each modality is tokenized and encoded *separately* through the same frozen encoder (unlike a
joint model, which concatenates modalities into one sequence), pooled, and projected by its own
``embedding`` head into a shared, L2-normalised space. The loss is CLIP's symmetric InfoNCE with a
learnable logit scale, over every pair of modalities present in a batch, or only the pairs with
an ``anchor`` modality (ImageBind). Under ``torchrun`` the embeddings of every process are
gathered *with* gradients, so each process sees the whole global batch as negatives.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .model import MetaModel


class AlignedModel(MetaModel):
    """A MetaModel whose heads are per-modality projections into one space, plus CLIP's logit scale.

    ``forward`` returns ``(embeddings by modality, logit scale)``: the scale travels with the
    outputs so DistributedDataParallel sees it used by the forward pass.
    """

    def __init__(
        self,
        encoder: nn.Module,
        tokenizers: Mapping[str, nn.Module],
        projections: Mapping[str, nn.Module],
        *,
        temperature: float = 0.07,
        learn_temperature: bool = True,
        max_logit_scale: float = 100.0,
        anchor: str | None = None,
        adapters: Any = None,
        prompts: Any = None,
    ) -> None:
        super().__init__(encoder, tokenizers, projections, adapters=adapters, prompts=prompts)
        missing = [m for m in tokenizers if m not in projections]
        if missing:
            raise ValueError(f"AlignedModel: no projection for modality {missing[0]!r}")
        init = torch.tensor(math.log(1.0 / temperature), dtype=torch.float32)
        if learn_temperature:
            self.logit_scale = nn.Parameter(init)
        else:
            self.register_buffer("logit_scale", init)
        self.max_logit_scale = float(max_logit_scale)
        self.anchor = anchor

    def scale(self) -> torch.Tensor:
        """``1 / temperature``, clamped to ``max_logit_scale`` (CLIP clamps at 100)."""
        return self.logit_scale.exp().clamp(max=self.max_logit_scale)

    def embed(self, modality: str, batch: Any) -> torch.Tensor:
        """One modality's collated batch → L2-normalised embeddings ``[B, dim]`` in the shared space."""
        if modality not in self.tokenizers:
            raise KeyError(f"no tokenizer for modality {modality!r}; this run aligns {', '.join(self.modalities)}")
        return self.heads[modality](self.encode({modality: batch}))

    def forward(self, inputs: Mapping[str, Any], heads: Sequence[str] | None = None) -> Any:  # type: ignore[override]
        embeddings = {m: self.embed(m, batch) for m, batch in inputs.items()}
        return embeddings, self.scale()

    def pairs(self) -> list[tuple[str, str]]:
        """The modality pairs the loss binds: all pairs, or each modality with the anchor."""
        return trained_pairs(self.modalities, self.anchor)


def trained_pairs(modalities: Sequence[str], anchor: str | None) -> list[tuple[str, str]]:
    """Every pair of ``modalities`` (CLIP), or ``(anchor, other)`` for each other one (ImageBind)."""
    if anchor is None:
        return list(itertools.combinations(modalities, 2))
    return [(anchor, m) for m in modalities if m != anchor]


def info_nce(a: torch.Tensor, b: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """CLIP's symmetric InfoNCE over paired rows of ``a`` and ``b`` (row i of each is a pair)."""
    logits = scale * a.float() @ b.float().T
    labels = torch.arange(a.shape[0], device=a.device)
    return 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels))


def contrastive_loss(
    embeddings: Mapping[str, torch.Tensor],
    present: Mapping[str, torch.Tensor],
    scale: torch.Tensor,
    pairs: Sequence[tuple[str, str]],
) -> tuple[torch.Tensor | None, dict[str, int]]:
    """Mean InfoNCE over ``pairs``, each over the rows holding both modalities.

    ``embeddings[m]`` are rows ``[B, dim]`` (zeros where ``present[m]`` is False). Returns the
    loss (None when no pair has two rows: there is no negative to contrast with) and how many
    rows each pair used.
    """
    losses, used = [], {}
    for a, b in pairs:
        if a not in embeddings or b not in embeddings:
            used[f"{a}-{b}"] = 0
            continue
        both = present[a] & present[b]
        n = int(both.sum())
        used[f"{a}-{b}"] = n
        if n >= 2:
            losses.append(info_nce(embeddings[a][both], embeddings[b][both], scale))
    if not losses:
        return None, used
    return torch.stack(losses).mean(), used


def scatter_rows(rows: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
    """Embeddings of the present rows → ``[B, dim]`` with zeros elsewhere (keeps the autograd graph)."""
    full = rows.new_zeros(present.shape[0], rows.shape[-1])
    return full.index_put((present.nonzero(as_tuple=True)[0],), rows)


def gather_with_grad(tensor: torch.Tensor, rows: int) -> torch.Tensor:
    """Every process's ``tensor`` (padded to ``rows`` rows) concatenated in rank order; gradients
    flow back to each process's own slice (``torch.distributed.nn.functional.all_gather``)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return tensor
    pad = rows - tensor.shape[0]
    if pad:
        tensor = torch.cat([tensor, tensor.new_zeros(pad, *tensor.shape[1:])])
    import warnings

    from torch.distributed.nn.functional import all_gather

    with warnings.catch_warnings():  # deprecated in favour of a private module (_functional_collectives); still public
        warnings.simplefilter("ignore", FutureWarning)
        return torch.cat(all_gather(tensor), dim=0)


def gather_batch(
    embeddings: Mapping[str, torch.Tensor], present: Mapping[str, torch.Tensor]
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """The global batch on every process: embeddings (with gradients) and presence masks, all ranks."""
    import torch.distributed as dist

    full = {m: scatter_rows(embeddings[m], present[m]) for m in embeddings}
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return full, dict(present)
    local = next(iter(present.values())).shape[0]
    size = torch.tensor([local], device=next(iter(present.values())).device)
    dist.all_reduce(size, op=dist.ReduceOp.MAX)
    rows = int(size)
    gathered_present = {}
    for m, mask in present.items():
        padded = torch.cat([mask, mask.new_zeros(rows - mask.shape[0])]) if rows > mask.shape[0] else mask
        parts = [torch.zeros_like(padded) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, padded)
        gathered_present[m] = torch.cat(parts)
    gathered = {}
    anchor = next(iter(full.values()))
    for m in present:  # every process gathers every modality, in one order, even one its batch lacks
        # a modality missing here is zeros still tied to the graph: every process must run the
        # gather's backward (a collective) or the others wait for it forever
        local_rows = full[m] if m in full else anchor.new_zeros(local, anchor.shape[-1]) + 0.0 * anchor.sum()
        gathered[m] = gather_with_grad(local_rows, rows)
    return gathered, gathered_present


__all__ = ["AlignedModel", "contrastive_loss", "gather_batch", "info_nce", "trained_pairs"]
