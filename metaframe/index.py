"""``metaframe.Index``: exact nearest-neighbour search over embeddings, with ids and sources kept.

Search is a chunked matrix product with a running top-k, so memory is bounded by the chunk
(``chunk_rows`` index rows at a time), not by the index size. An index remembers the encoder
identity its vectors came from; searching it with queries from another encoder is an error,
since the two spaces are unrelated even when their widths agree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Sequence

import torch

from metaframe_registry import MetaframeError

from .atomic import atomic_path, atomic_write_text

Metric = Literal["cosine", "dot"]
Backend = Literal["exact", "faiss"]
FORMAT = "metaframe-index/1"


class SearchIndexError(MetaframeError):
    """An index that cannot be used as asked: wrong width, another encoder, a damaged file."""


@dataclass(frozen=True)
class SearchResult:
    """``scores`` and ``rows`` ``[Q, k]`` (best first); ``ids[q]`` / ``sources[q]`` the rows' names."""

    scores: torch.Tensor
    rows: torch.Tensor
    ids: list[list[str]]
    sources: list[list[str]]


@dataclass
class Index:
    """Vectors ``[N, dim]`` with an id and a source per row, searched exactly.

    ``metric``: ``cosine`` (rows and queries L2-normalised on the way in) or ``dot``.
    ``encoder``: the identity (``EncoderIdentity.to_dict()``) the vectors came from, if known.
    ``backend``: ``exact`` (default) or ``faiss``, an approximate FAISS index (``faiss-cpu``, the
    ``search`` extra) built from ``faiss_factory`` (a ``faiss.index_factory`` string, default
    ``HNSW32``) on the first search after rows were added, with ``faiss_params`` (a
    ``faiss.ParameterSpace`` string; for HNSW factories the default is ``efSearch=128``: more is
    slower and closer to exact);
    same API, same files.
    """

    dim: int
    metric: Metric = "cosine"
    encoder: dict[str, Any] | None = None
    backend: Backend = "exact"
    faiss_factory: str = "HNSW32"
    faiss_params: str | None = None
    vectors: torch.Tensor = field(init=False)
    ids: list[str] = field(default_factory=list, init=False)
    sources: list[str] = field(default_factory=list, init=False)
    _faiss: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.dim < 1:
            raise SearchIndexError(f"Index: dim must be >= 1, got {self.dim}")
        if self.metric not in ("cosine", "dot"):
            raise SearchIndexError(f"Index: metric {self.metric!r} — expected 'cosine' or 'dot'")
        if self.backend not in ("exact", "faiss"):
            raise SearchIndexError(f"Index: backend {self.backend!r} — expected 'exact' or 'faiss'")
        if self.backend == "faiss":
            _import_faiss()
        self.vectors = torch.zeros(0, self.dim)

    def __len__(self) -> int:
        return self.vectors.shape[0]

    def _prepare(self, vectors: torch.Tensor, what: str) -> torch.Tensor:
        vectors = torch.as_tensor(vectors).detach().to("cpu", torch.float32)
        if vectors.dim() == 1:
            vectors = vectors[None]
        if vectors.dim() != 2 or vectors.shape[1] != self.dim:
            raise SearchIndexError(f"{what}: expected vectors [n, {self.dim}], got {tuple(vectors.shape)}")
        if not torch.isfinite(vectors).all():
            raise SearchIndexError(f"{what}: holds NaN or inf values")
        return torch.nn.functional.normalize(vectors, dim=-1) if self.metric == "cosine" else vectors

    def _check_encoder(self, encoder: dict[str, Any] | None, what: str) -> None:
        if encoder is None or self.encoder is None:
            return
        mine, theirs = self.encoder.get("sha256"), encoder.get("sha256")
        if mine == theirs and self.encoder.get("space") != encoder.get("space"):  # aligned runs: metaframe.space
            raise SearchIndexError(
                f"{what}: the vectors come from {_space_name(encoder)}, but this index was built with "
                f"{_space_name(self.encoder)}; embed the queries with the run that built the index"
            )
        if mine != theirs:
            raise SearchIndexError(
                f"{what}: the vectors come from encoder {str(theirs)[:16]}… ({encoder.get('source') or encoder.get('preset')}), "
                f"but this index was built with encoder {str(mine)[:16]}… ({self.encoder.get('source') or self.encoder.get('preset')}); "
                "embed the queries with the run that built the index"
            )

    def add(
        self,
        vectors: torch.Tensor,
        ids: Sequence[str] | None = None,
        sources: Sequence[str] | None = None,
        *,
        encoder: dict[str, Any] | None = None,
    ) -> None:
        """Append rows; ``ids`` default to their row numbers, ``sources`` to the ids."""
        rows = self._prepare(vectors, "Index.add")
        n = rows.shape[0]
        ids = [str(len(self) + i) for i in range(n)] if ids is None else [str(i) for i in ids]
        sources = list(ids) if sources is None else [str(s) for s in sources]
        if len(ids) != n or len(sources) != n:
            raise SearchIndexError(f"Index.add: {n} vectors but {len(ids)} ids and {len(sources)} sources")
        self._check_encoder(encoder, "Index.add")
        if self.encoder is None and encoder is not None:
            self.encoder = dict(encoder)
        self.vectors = torch.cat([self.vectors, rows])
        self.ids += ids
        self.sources += sources
        self._faiss = None  # rebuilt on the next search

    def search(
        self, queries: torch.Tensor, k: int = 10, *, encoder: dict[str, Any] | None = None, chunk_rows: int = 65536
    ) -> SearchResult:
        """The ``k`` best rows per query (fewer when the index is smaller), best first; ties by row order."""
        if k < 1:
            raise SearchIndexError(f"Index.search: k must be >= 1, got {k}")
        if not len(self):
            raise SearchIndexError("Index.search: the index is empty; add vectors first")
        self._check_encoder(encoder, "Index.search")
        q = self._prepare(queries, "Index.search")
        k = min(k, len(self))
        if self.backend == "faiss":
            return self._search_faiss(q, k)
        best = torch.full((q.shape[0], 0), float("-inf"))
        best_rows = torch.zeros((q.shape[0], 0), dtype=torch.long)
        for start in range(0, len(self), chunk_rows):
            scores = q @ self.vectors[start : start + chunk_rows].T
            top = scores.topk(min(k, scores.shape[1]), dim=1)
            merged = torch.cat([best, top.values], dim=1)
            merged_rows = torch.cat([best_rows, top.indices + start], dim=1)
            # stable: among equal scores the earlier row (lower index) stays ahead
            order = torch.sort(merged, dim=1, descending=True, stable=True).indices[:, :k]
            best, best_rows = merged.gather(1, order), merged_rows.gather(1, order)
        return self._result(best, best_rows)

    def _result(self, scores: torch.Tensor, rows: torch.Tensor) -> SearchResult:
        ids = [[self.ids[r] for r in row] for row in rows.tolist()]
        sources = [[self.sources[r] for r in row] for row in rows.tolist()]
        return SearchResult(scores, rows, ids, sources)

    def _search_faiss(self, q: torch.Tensor, k: int) -> SearchResult:
        faiss = _import_faiss()
        if self._faiss is None:
            try:
                self._faiss = faiss.index_factory(self.dim, self.faiss_factory, faiss.METRIC_INNER_PRODUCT)
            except RuntimeError as exc:
                raise SearchIndexError(f"Index: faiss_factory {self.faiss_factory!r} — {str(exc).splitlines()[0]}") from None
            data = self.vectors.numpy()
            if not self._faiss.is_trained:
                self._faiss.train(data)
            self._faiss.add(data)
            params = self.faiss_params if self.faiss_params is not None else ("efSearch=128" if "HNSW" in self.faiss_factory else "")
            if params:
                try:
                    faiss.ParameterSpace().set_index_parameters(self._faiss, params)
                except RuntimeError as exc:
                    self._faiss = None
                    raise SearchIndexError(f"Index: faiss_params {params!r} — {str(exc).splitlines()[0]}") from None
        scores, rows = self._faiss.search(q.numpy(), k)
        return self._result(torch.from_numpy(scores), torch.from_numpy(rows).long())

    # -- files --------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """``PATH`` (safetensors: the vectors) and ``PATH.json`` (ids, sources, metric, encoder), each atomic."""
        from safetensors.torch import save_file

        path = Path(path)
        with atomic_path(path) as tmp:
            save_file({"vectors": self.vectors.contiguous()}, str(tmp), metadata={"format": FORMAT})
        meta = {"format": FORMAT, "dim": self.dim, "metric": self.metric, "encoder": self.encoder,
                "ids": self.ids, "sources": self.sources}
        atomic_write_text(_sidecar(path), json.dumps(meta) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path, *, backend: Backend = "exact", faiss_factory: str = "HNSW32") -> "Index":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        path = Path(path)
        side = _sidecar(path)
        for p in (path, side):
            if not p.is_file():
                raise SearchIndexError(f"{p}: no such file (an index is PATH and PATH.json, written by Index.save)")
        try:
            meta = json.loads(side.read_text(encoding="utf-8"))
            vectors = load_file(str(path))["vectors"]
        except (ValueError, KeyError, SafetensorError, UnicodeDecodeError) as exc:
            raise SearchIndexError(f"{path}: not a metaframe index ({type(exc).__name__}: {exc})") from None
        if meta.get("format") != FORMAT:
            raise SearchIndexError(f"{side}: format {meta.get('format')!r}, expected {FORMAT!r}")
        index = cls(int(meta["dim"]), meta["metric"], meta.get("encoder"), backend, faiss_factory)
        if vectors.shape != (len(meta["ids"]), index.dim) or len(meta["sources"]) != len(meta["ids"]):
            raise SearchIndexError(
                f"{path}: {tuple(vectors.shape)} vectors for {len(meta['ids'])} ids and {len(meta['sources'])} sources "
                f"of width {index.dim}: the two files do not belong together"
            )
        index.vectors, index.ids, index.sources = vectors.float(), list(meta["ids"]), list(meta["sources"])
        return index

    @classmethod
    def from_encoded(cls, path: str | Path, metric: Metric = "cosine") -> "Index":
        """An index over what ``metaframe encode --out PATH`` wrote (``.npy`` / ``.pt`` / ``.safetensors`` + ``PATH.json``,
        or a folder of shards with its ``index.parquet``)."""
        path = Path(path)
        if path.is_dir():
            from .engine.encode_shards import read_encoded

            encoded = read_encoded(path)
            index = cls(int(encoded.embeddings.shape[1]), metric, encoded.summary.get("encoder"))
            index.add(encoded.embeddings, ids=encoded.sources, sources=encoded.sources)
            return index
        side = _sidecar(path)
        if not side.is_file():
            raise SearchIndexError(f"{side}: no such file; `metaframe encode --out {path}` writes it beside the embeddings")
        meta = json.loads(side.read_text(encoding="utf-8"))
        vectors = _read_vectors(path)
        index = cls(int(vectors.shape[1]), metric, meta.get("encoder"))
        index.add(vectors, ids=meta["rows"], sources=meta["rows"])
        return index


def _space_name(identity: dict[str, Any]) -> str:
    """An aligned run's space (its run and a hash of its projections), or the bare encoder's output."""
    if identity.get("space") is None:
        return "the encoder's own output (no aligned run)"
    return f"the aligned space of run {identity.get('run')} ({identity.get('checkpoint')}, {str(identity['space'])[:12]}…)"


def _import_faiss() -> Any:
    try:
        import faiss
    except ImportError:
        raise SearchIndexError(
            "Index: backend 'faiss' needs faiss-cpu (pip install 'metaframe[search]' or pip install faiss-cpu)"
        ) from None
    return faiss


def _sidecar(path: Path) -> Path:
    return path.with_suffix(path.suffix + ".json")


def _read_vectors(path: Path) -> torch.Tensor:
    """``encode``'s output: ``.npy``, else safetensors holding ``embeddings``."""
    if path.suffix == ".npy":
        import numpy as np

        return torch.from_numpy(np.load(path, allow_pickle=False))
    from safetensors.torch import load_file

    return load_file(str(path))["embeddings"]


__all__ = ["Index", "SearchIndexError", "SearchResult"]
