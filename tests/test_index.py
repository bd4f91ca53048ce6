"""metaframe.Index: exact search that agrees with brute force, files that round-trip, and refusals."""

from __future__ import annotations

import json

import pytest
import torch

from metaframe.index import Index, SearchIndexError
from metaframe.retrieval import pair_ranks, retrieval_metrics


def vectors(n: int, d: int = 8, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("chunk_rows", [1, 7, 1000])
def test_chunked_search_equals_brute_force_top_k(chunk_rows):
    rows, queries = vectors(50), vectors(5, seed=1)
    index = Index(8)
    index.add(rows)
    found = index.search(queries, k=4, chunk_rows=chunk_rows)
    sim = torch.nn.functional.normalize(queries, dim=-1) @ torch.nn.functional.normalize(rows, dim=-1).T
    expected = sim.topk(4, dim=1)
    assert torch.equal(found.rows, expected.indices)
    assert torch.allclose(found.scores, expected.values)
    assert found.ids[0] == [str(i) for i in expected.indices[0].tolist()]


def test_dot_metric_keeps_magnitudes():
    index = Index(2, metric="dot")
    index.add(torch.tensor([[1.0, 0.0], [3.0, 0.0]]), ids=["small", "big"])
    assert index.search(torch.tensor([1.0, 0.0]), k=1).ids == [["big"]]
    cosine = Index(2)
    cosine.add(torch.tensor([[1.0, 0.0], [3.0, 0.0]]), ids=["small", "big"])
    assert cosine.search(torch.tensor([1.0, 0.0]), k=2).ids == [["small", "big"]]  # a tie: row order


def test_k_larger_than_the_index_gives_every_row():
    index = Index(8)
    index.add(vectors(3), ids=["a", "b", "c"], sources=["a.png", "b.png", "c.png"])
    result = index.search(vectors(1, seed=3), k=10)
    assert sorted(result.ids[0]) == ["a", "b", "c"] and set(result.sources[0]) == {"a.png", "b.png", "c.png"}


def test_save_and_load_round_trip_ids_sources_and_encoder(tmp_path):
    identity = {"sha256": "ab" * 32, "source": "tiny"}
    index = Index(8, encoder=identity)
    index.add(vectors(6), ids=[f"id{i}" for i in range(6)], sources=[f"f{i}.wav" for i in range(6)])
    path = index.save(tmp_path / "idx.safetensors")
    again = Index.load(path)
    assert again.ids == index.ids and again.sources == index.sources and again.encoder == identity
    q = vectors(2, seed=5)
    assert torch.equal(again.search(q, k=3).rows, index.search(q, k=3).rows)


def test_an_index_refuses_queries_from_another_encoder():
    index = Index(8, encoder={"sha256": "aa" * 32, "source": "run-a"})
    index.add(vectors(4))
    with pytest.raises(SearchIndexError, match="this index was built with encoder aaaa"):
        index.search(vectors(1), encoder={"sha256": "bb" * 32, "source": "run-b"})
    index.search(vectors(1), encoder={"sha256": "aa" * 32})


def test_wrong_width_non_finite_empty_and_damaged_files_are_named(tmp_path):
    index = Index(8)
    with pytest.raises(SearchIndexError, match="the index is empty"):
        index.search(vectors(1))
    with pytest.raises(SearchIndexError, match=r"expected vectors \[n, 8\], got \(2, 4\)"):
        index.add(torch.zeros(2, 4))
    with pytest.raises(SearchIndexError, match="NaN or inf"):
        index.add(torch.full((1, 8), float("nan")))
    index.add(vectors(3))
    path = index.save(tmp_path / "idx.safetensors")
    meta = json.loads((tmp_path / "idx.safetensors.json").read_text())
    meta["ids"] = meta["ids"][:2]
    (tmp_path / "idx.safetensors.json").write_text(json.dumps(meta))
    with pytest.raises(SearchIndexError, match="do not belong together"):
        Index.load(path)
    with pytest.raises(SearchIndexError, match="no such file"):
        Index.load(tmp_path / "missing.safetensors")


def test_an_index_over_encode_output(tmp_path):
    import numpy as np

    np.save(tmp_path / "emb.npy", vectors(4).numpy())
    (tmp_path / "emb.npy.json").write_text(json.dumps({"rows": ["a", "b", "c", "d"], "encoder": {"sha256": "cc" * 32}}))
    index = Index.from_encoded(tmp_path / "emb.npy")
    assert len(index) == 4 and index.search(vectors(4)[2], k=1).ids == [["c"]]


def test_recall_and_median_rank_on_a_known_case():
    a = torch.eye(4)
    b = torch.eye(4)[[0, 1, 3, 2]]  # pairs 2 and 3 swapped
    metrics = retrieval_metrics(a, b, ("image", "text"), ks=(1, 2))
    assert metrics["image_to_text_recall@1"] == 0.5 and metrics["image_to_text_recall@2"] == 0.5
    assert metrics["text_to_image_recall@1"] == 0.5
    assert pair_ranks(a, b).tolist() == [1, 1, 4, 4]  # orthogonal rows all tie at 0: ties count against the pair


def test_constant_embeddings_are_not_rewarded_and_one_pair_is_refused():
    same = torch.ones(5, 3)
    assert retrieval_metrics(same, same)["a_to_b_recall@1"] == 0.0
    with pytest.raises(ValueError, match="at least 2 pairs"):
        pair_ranks(torch.ones(1, 3), torch.ones(1, 3))


def test_the_faiss_backend_has_the_same_api_and_finds_the_exact_neighbours_on_a_small_index(tmp_path):
    pytest.importorskip("faiss", reason="faiss-cpu (the search extra) is not installed")
    rows, queries = vectors(200, d=16), vectors(10, d=16, seed=2)
    exact, approx = Index(16), Index(16, backend="faiss", faiss_factory="Flat")
    for index in (exact, approx):
        index.add(rows, ids=[f"r{i}" for i in range(200)])
    a, b = exact.search(queries, k=5), approx.search(queries, k=5)
    assert a.ids == b.ids and torch.allclose(a.scores, b.scores, atol=1e-5)
    hnsw = Index(16, backend="faiss")
    hnsw.add(rows, ids=[f"r{i}" for i in range(200)])
    recall = sum(len(set(x) & set(y)) for x, y in zip(hnsw.search(queries, k=5).ids, a.ids)) / 50
    assert recall >= 0.8
    exact.save(tmp_path / "i.safetensors")
    assert Index.load(tmp_path / "i.safetensors", backend="faiss", faiss_factory="Flat").search(queries, k=5).ids == a.ids
    with pytest.raises(SearchIndexError, match="faiss_factory 'NoSuchIndex'"):
        bad = Index(16, backend="faiss", faiss_factory="NoSuchIndex")
        bad.add(rows)
        bad.search(queries)


def test_an_unknown_backend_is_named():
    with pytest.raises(SearchIndexError, match="backend 'annoy'"):
        Index(4, backend="annoy")  # type: ignore[arg-type]
