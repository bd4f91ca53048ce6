"""Laplacian eigenvectors as node identifiers (TokenGT): deterministic, sign-fixed, zero-padded."""

from __future__ import annotations

import numpy as np


def laplacian_eigvecs(num_nodes: int, edges: np.ndarray, k: int) -> np.ndarray:
    """``[n, k]`` eigenvectors of the symmetric normalised Laplacian ``I - D^-1/2 A D^-1/2``.

    ``A`` is the unweighted, symmetrised adjacency without self-loops. Smallest eigenvalue
    first; each vector's sign is fixed so that its largest-magnitude entry is positive (the
    tokenizer flips signs at random in training); columns beyond ``n`` are zero. Dense
    ``eigh``: fine up to a few thousand nodes.
    """
    adj = np.zeros((num_nodes, num_nodes), dtype=np.float64)
    if len(edges):
        u, v = edges[:, 0], edges[:, 1]
        keep = u != v
        adj[u[keep], v[keep]] = 1.0
        adj[v[keep], u[keep]] = 1.0
    degree = adj.sum(1)
    inv_sqrt = np.where(degree > 0, 1.0 / np.sqrt(np.maximum(degree, 1e-12)), 0.0)
    lap = np.eye(num_nodes) - inv_sqrt[:, None] * adj * inv_sqrt[None, :]
    _, vectors = np.linalg.eigh(lap)
    vectors = vectors[:, :k]
    if vectors.shape[1]:
        pivot = np.abs(vectors).argmax(0)
        signs = np.sign(vectors[pivot, np.arange(vectors.shape[1])])
        vectors = vectors * np.where(signs == 0, 1.0, signs)
    out = np.zeros((num_nodes, k), dtype=np.float32)
    out[:, : vectors.shape[1]] = vectors
    return out
