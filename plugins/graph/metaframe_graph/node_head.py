"""Node-level head: one output row per real node, in node order."""

from __future__ import annotations

import torch
from torch import nn

from metaframe import extras as keys
from metaframe.tokens import EncodedBatch


class NodeHead(nn.Module):
    """Rows of the graph segment's node tokens (the first ``N`` slots; which are real comes
    from ``extras[metaframe.extras.NODE_MASK]`` of the graph tokenizer) through a linear layer or small MLP.

    ``flat=True`` (default): ``[total nodes in the batch, out_features]``, graph after graph,
    each in node order, ready for a loss against concatenated node targets. ``flat=False``:
    ``[B, N, out_features]`` with zero rows for padding.
    """

    def __init__(
        self, embed_dim: int, out_features: int, modality: str = "graph", hidden: int | None = None, flat: bool = True
    ) -> None:
        super().__init__()
        self.modality = modality
        self.flat = flat
        self.out_features = out_features
        if hidden:
            self.mlp: nn.Module = nn.Sequential(nn.Linear(embed_dim, hidden), nn.GELU(), nn.Linear(hidden, out_features))
        else:
            self.mlp = nn.Linear(embed_dim, out_features)

    def forward(self, encoded: EncodedBatch) -> torch.Tensor:
        tokens, _ = encoded.body(self.modality)
        extras = encoded.extras.get(self.modality, {})
        if keys.NODE_MASK not in extras:
            raise KeyError(
                f"the {self.modality!r} tokens carry no {keys.NODE_MASK!r} extra; the node head needs the graph "
                "plugin's TokenGT tokenizer (or one that reports node_mask)"
            )
        node_mask = extras[keys.NODE_MASK]
        out = self.mlp(tokens[:, : node_mask.shape[1]])
        if self.flat:
            return out[node_mask]
        return out * node_mask.unsqueeze(-1).to(out.dtype)
