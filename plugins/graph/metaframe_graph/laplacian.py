"""Laplacian eigenvectors as node identifiers (TokenGT): deterministic, sign-fixed, zero-padded.

Small graphs use a dense ``eigh`` (exact, all vectors); from ``DENSE_MAX_NODES`` nodes a sparse
Lanczos (``scipy.sparse.linalg.eigsh``, see ``_smallest``) finds only the ``k`` smallest, so
memory and time grow with the edges, not with ``n^2`` / ``n^3``.
"""

from __future__ import annotations

import numpy as np

DENSE_MAX_NODES = 2000  # dense eigh up to here (n x n float64: 32 MB); sparse beyond
FACTOR_MAX_ENTRIES = 20_000_000  # nodes x band after reordering, for a shift-invert factorisation (~160 MB)
LANCZOS_MAX_ITER = 50  # restarts of plain Lanczos before giving up (bounds the time of one graph)


def _adjacency(num_nodes: int, edges: np.ndarray):  # -> scipy.sparse.csr_array
    from scipy import sparse

    u, v = (edges[:, 0], edges[:, 1]) if len(edges) else (np.zeros(0, np.int64), np.zeros(0, np.int64))
    keep = u != v
    rows = np.concatenate([u[keep], v[keep]])
    cols = np.concatenate([v[keep], u[keep]])
    adj = sparse.csr_array((np.ones(rows.size), (rows, cols)), shape=(num_nodes, num_nodes))
    adj.data[:] = 1.0  # duplicate edges summed: unweighted
    return adj


def _normalised_laplacian(num_nodes: int, edges: np.ndarray):  # -> scipy.sparse.csr_array
    from scipy import sparse

    adj = _adjacency(num_nodes, edges)
    degree = np.asarray(adj.sum(axis=1)).ravel()
    inv_sqrt = np.where(degree > 0, 1.0 / np.sqrt(np.maximum(degree, 1e-12)), 0.0)
    scale = sparse.diags_array(inv_sqrt)
    return (sparse.eye_array(num_nodes, format="csr") - scale @ adj @ scale).tocsc()


def _banded(lap) -> tuple[object, int]:
    """``lap`` reordered by reverse Cuthill-McKee, and its bandwidth (fill-in bound of a factorisation)."""
    from scipy.sparse.csgraph import reverse_cuthill_mckee

    order = reverse_cuthill_mckee(lap.tocsr(), symmetric_mode=True)
    permuted = lap.tocsr()[order][:, order].tocoo()
    width = int(np.abs(permuted.row - permuted.col).max(initial=0))
    return order, width


def _smallest(lap, k: int, source: object = None) -> np.ndarray:
    """The ``k`` eigenvectors of smallest eigenvalue, in that order.

    Dense up to ``DENSE_MAX_NODES``. Larger: shift-invert Lanczos when reverse Cuthill-McKee
    finds a band narrow enough that the factorisation stays within ``FACTOR_MAX_ENTRIES``
    (paths, grids, meshes, molecules, many small components); else plain Lanczos on ``2I - L``
    (matrix-vector products only), at most ``LANCZOS_MAX_ITER`` restarts — a graph it cannot
    resolve in that is a ``ReadError`` suggesting ``identifiers='orf'``.
    """
    from metaframe_registry import ReadError

    n = lap.shape[0]
    if n > DENSE_MAX_NODES and k >= n - 1:
        raise ReadError(source, f"laplacian_k={k} asks for (nearly) every eigenvector of a graph of {n} nodes; lower laplacian_k")
    if n <= DENSE_MAX_NODES:
        _, vectors = np.linalg.eigh(lap.toarray())
        return vectors[:, :k]
    from scipy import sparse
    from scipy.sparse.linalg import ArpackNoConvergence, eigsh

    v0 = np.random.default_rng(0).standard_normal(n)  # seeded: the same graph gets the same vectors
    order, width = _banded(lap)
    if n * (width + 1) <= FACTOR_MAX_ENTRIES:
        # L is positive semi-definite: L + 1e-6 I is positive definite, so shift-invert around
        # -1e-6 converges to the eigenvalues nearest 0 (the smallest) first.
        permuted = lap.tocsr()[order][:, order].tocsc()
        values, vectors = eigsh(permuted, k=k, sigma=-1e-6, which="LM", v0=v0)
        out = np.empty_like(vectors)
        out[order] = vectors
        return out[:, np.argsort(values)]
    shifted = (2.0 * sparse.eye_array(n, format="csr") - lap).tocsr()  # eigenvalues 2 - lambda, in [0, 2]
    try:
        values, vectors = eigsh(shifted, k=k, which="LA", v0=v0, tol=1e-3, maxiter=LANCZOS_MAX_ITER)
    except ArpackNoConvergence as exc:
        raise ReadError(
            source,
            f"Laplacian eigenvectors of this graph ({n} nodes) did not converge in {LANCZOS_MAX_ITER} Lanczos "
            "iterations; read it with laplacian_k=None and tokenize with identifiers='orf'",
        ) from exc
    return vectors[:, np.argsort(-values)]


def laplacian_eigvecs(num_nodes: int, edges: np.ndarray, k: int, source: object = None) -> np.ndarray:
    """``[n, k]`` eigenvectors of the symmetric normalised Laplacian ``I - D^-1/2 A D^-1/2``.

    ``A`` is the unweighted, symmetrised adjacency without self-loops. Smallest eigenvalue
    first; each vector's sign is fixed so that its largest-magnitude entry is positive (the
    tokenizer flips signs at random in training); columns beyond ``n`` are zero.
    """
    vectors = _smallest(_normalised_laplacian(num_nodes, edges), min(k, num_nodes), source)
    if vectors.shape[1]:
        pivot = np.abs(vectors).argmax(0)
        signs = np.sign(vectors[pivot, np.arange(vectors.shape[1])])
        vectors = vectors * np.where(signs == 0, 1.0, signs)
    out = np.zeros((num_nodes, k), dtype=np.float32)
    out[:, : vectors.shape[1]] = vectors
    return out
