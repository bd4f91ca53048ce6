"""TokenGT (Kim et al., 2022): every node and every edge is a token.

token = features (projections of continuous, embeddings of categorical attributes)
      + W_p [P_u, P_v]  (node identifiers: a node v is (v, v), an edge is (u, v))
      + type embedding (node or edge).

P: Laplacian eigenvectors (``id_dim`` = 16, zero-padded for small graphs, a random sign
flip per vector and graph in training) or orthogonal random features (random in training,
a fixed seeded draw in eval). Tokens are laid out as [node slots | edge slots], each padded
to the batch's largest graph and masked. No graph token: MetaModel's [CLS] plays that role.
The official graph code's re-initialised blocks and 32 heads are not copied: the encoder
stays the frozen shared one.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from metaframe import extras as keys
from metaframe.tokens import TokenBatch

from .collate import GraphBatch

IDENTIFIERS = ("laplacian", "orf")


def _read_from(batch: GraphBatch) -> str:
    """`` (read from a.json, b.json)`` for an error message, or ``""`` for in-memory graphs."""
    named = [s for s in getattr(batch, "sources", []) if s]
    return f" (read from {', '.join(named[:3])}{' ...' if len(named) > 3 else ''})" if named else ""


class CategoricalEmbedding(nn.Module):
    """Sum of one learned embedding per categorical column (vocabularies side by side)."""

    def __init__(self, vocab_sizes: Sequence[int], embed_dim: int, kind: str) -> None:
        super().__init__()
        self.vocab_sizes = [int(v) for v in vocab_sizes]
        self.kind = kind
        offsets = torch.tensor([0, *self.vocab_sizes[:-1]], dtype=torch.long).cumsum(0)
        self.register_buffer("offsets", offsets, persistent=False)
        self.embed = nn.Embedding(max(1, sum(self.vocab_sizes)), embed_dim)

    def forward(self, values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        values = values.masked_fill(~mask.unsqueeze(-1), 0)
        limits = torch.tensor(self.vocab_sizes, device=values.device)
        bad = (values >= limits) | (values < 0)
        if bool(bad.any()):
            col = int(bad.nonzero()[0, -1])
            found = int(values[bad][0])
            raise ValueError(
                f"{self.kind} categorical column {col} holds {found}, outside its vocabulary 0..{self.vocab_sizes[col] - 1} "
                f"(set {self.kind}_categories to larger sizes)"
            )
        return self.embed(values + self.offsets.to(values.device)).sum(-2)


def orthogonal_features(num_rows: int, dim: int, batch: int, generator_seed: int | None, device: torch.device) -> torch.Tensor:
    """``[batch, num_rows, dim]`` rows, orthonormal within each block of ``dim`` rows.

    ``generator_seed`` set: one fixed draw shared by the batch (row j never depends on
    ``num_rows``: blocks are drawn one by one from seeds ``seed + block``); None: fresh per graph.
    """
    blocks = max(1, math.ceil(num_rows / dim))
    if generator_seed is None:
        q, _ = torch.linalg.qr(torch.randn(batch, blocks, dim, dim, device=device))
    else:
        draws = [torch.randn(dim, dim, generator=torch.Generator().manual_seed(generator_seed + j)) for j in range(blocks)]
        q, _ = torch.linalg.qr(torch.stack(draws).to(device))
        q = q.unsqueeze(0).expand(batch, -1, -1, -1)
    return q.reshape(batch, blocks * dim, dim)[:, :num_rows]


class TokenGT(nn.Module):
    def __init__(
        self,
        embed_dim: int,
        node_features: int = 0,
        edge_features: int = 0,
        node_categories: Sequence[int] = (),
        edge_categories: Sequence[int] = (),
        identifiers: str = "laplacian",
        id_dim: int = 16,
        orf_seed: int = 0,
    ) -> None:
        """``node_features`` / ``edge_features``: widths of the continuous attributes;
        ``node_categories`` / ``edge_categories``: vocabulary size of each categorical column;
        ``identifiers``: ``laplacian`` (eigenvectors from the reader) or ``orf``."""
        super().__init__()
        if identifiers not in IDENTIFIERS:
            raise ValueError(f"identifiers={identifiers!r}: expected one of {', '.join(IDENTIFIERS)}")
        self.embed_dim = embed_dim
        self.identifiers = identifiers
        self.id_dim = id_dim
        self.orf_seed = orf_seed
        self.node_features, self.edge_features = node_features, edge_features
        self.node_proj = nn.Linear(node_features, embed_dim) if node_features else None
        self.edge_proj = nn.Linear(edge_features, embed_dim) if edge_features else None
        self.node_embed = CategoricalEmbedding(node_categories, embed_dim, "node") if node_categories else None
        self.edge_embed = CategoricalEmbedding(edge_categories, embed_dim, "edge") if edge_categories else None
        self.id_proj = nn.Linear(2 * id_dim, embed_dim, bias=False)
        self.type_embed = nn.Embedding(2, embed_dim)  # 0: node, 1: edge
        nn.init.normal_(self.type_embed.weight, std=0.02)

    def _check(self, batch: GraphBatch) -> None:
        for name, want, have in (
            ("node_features", self.node_features, batch.node_features.shape[-1]),
            ("edge_features", self.edge_features, batch.edge_features.shape[-1]),
            ("node_categories", len(self.node_embed.vocab_sizes) if self.node_embed else 0, batch.node_categories.shape[-1]),
            ("edge_categories", len(self.edge_embed.vocab_sizes) if self.edge_embed else 0, batch.edge_categories.shape[-1]),
        ):
            if want != have:
                raise ValueError(
                    f"the graphs carry {have} {name} column(s), the tokenizer was built for {want}{_read_from(batch)}; "
                    f"build it with {name}={have if 'features' in name else '[vocabulary sizes]'} or read with other attribute names"
                )

    def node_ids(self, batch: GraphBatch) -> torch.Tensor:
        """``[B, N, id_dim]``, zero on padding."""
        b, n = batch.node_mask.shape
        device = batch.node_mask.device
        if self.identifiers == "laplacian":
            if batch.eigvecs is None:
                raise ValueError("identifiers='laplacian' needs eigenvectors: read the graphs with laplacian_k set (e.g. 16)")
            p = batch.eigvecs.float()
            if p.shape[-1] < self.id_dim:
                p = torch.cat([p, p.new_zeros(b, n, self.id_dim - p.shape[-1])], -1)
            p = p[..., : self.id_dim]
            if self.training:
                signs = torch.randint(0, 2, (b, 1, self.id_dim), device=device).float() * 2 - 1
                p = p * signs
        else:
            seed = None if self.training else self.orf_seed
            p = orthogonal_features(n, self.id_dim, b, seed, device)
        return p * batch.node_mask.unsqueeze(-1)

    @staticmethod
    def _embed(embed: CategoricalEmbedding, values: torch.Tensor, mask: torch.Tensor, batch: GraphBatch) -> torch.Tensor:
        """The embedding, with a value outside its vocabulary named by the batch's files."""
        try:
            return embed(values, mask)
        except ValueError as exc:
            raise ValueError(f"{exc}{_read_from(batch)}") from exc

    def forward(self, batch: GraphBatch) -> TokenBatch:
        if not isinstance(batch, GraphBatch):
            raise TypeError(f"expected a GraphBatch (metaframe.get_modality('graph').collate), got {type(batch).__name__}")
        self._check(batch)
        b, n = batch.node_mask.shape
        e = batch.edge_mask.shape[1]
        dtype = self.id_proj.weight.dtype
        nodes = self.type_embed.weight[0].expand(b, n, -1)
        edges = self.type_embed.weight[1].expand(b, e, -1)
        if self.node_proj is not None:
            nodes = nodes + self.node_proj(batch.node_features.to(dtype))
        if self.node_embed is not None:
            nodes = nodes + self._embed(self.node_embed, batch.node_categories, batch.node_mask, batch)
        if self.edge_proj is not None:
            edges = edges + self.edge_proj(batch.edge_features.to(dtype))
        if self.edge_embed is not None:
            edges = edges + self._embed(self.edge_embed, batch.edge_categories, batch.edge_mask, batch)
        p = self.node_ids(batch).to(dtype)
        index = batch.edge_index.masked_fill(~batch.edge_mask.unsqueeze(-1), 0)
        p_u = p.gather(1, index[..., :1].expand(-1, -1, self.id_dim))
        p_v = p.gather(1, index[..., 1:].expand(-1, -1, self.id_dim))
        nodes = nodes + self.id_proj(torch.cat([p, p], -1))
        edges = edges + self.id_proj(torch.cat([p_u, p_v], -1))
        tokens = torch.cat([nodes, edges], 1)
        mask = torch.cat([batch.node_mask, batch.edge_mask], 1)
        tokens = tokens * mask.unsqueeze(-1).to(tokens.dtype)
        extras = {keys.NUM_NODES: batch.num_nodes, keys.NUM_EDGES: batch.num_edges, keys.NODE_MASK: batch.node_mask}
        return TokenBatch(tokens, mask, extras)
