"""Hostile graph inputs: each is a ReadError naming the file, before any large allocation."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

import metaframe
from metaframe_registry import ReadError


@pytest.fixture()
def graph():
    return metaframe.get_modality("graph")


@pytest.mark.parametrize("suffix", [".edgelist", ".edges"])
def test_binary_edge_list_is_a_read_error(tmp_path, graph, suffix):
    path = tmp_path / f"bad{suffix}"
    path.write_bytes(bytes(range(128, 256)) * 3)
    with pytest.raises(ReadError, match="not UTF-8") as info:
        graph.read(path)
    assert str(path) in str(info.value)


def test_binary_json_is_a_read_error(tmp_path, graph):
    path = tmp_path / "g.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ReadError, match="not UTF-8"):
        graph.read(path)


def test_huge_declared_num_nodes_is_refused_before_allocation(tmp_path, graph):
    path = tmp_path / "bomb.json"
    path.write_text(json.dumps({"num_nodes": 10**12, "edge_index": [[0], [1]]}))
    with pytest.raises(ReadError, match="max_nodes=100000") as info:
        graph.read(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("value", ["ten", 2.5, -3, True])
def test_bad_num_nodes_is_a_read_error(tmp_path, graph, value):
    path = tmp_path / "g.json"
    path.write_text(json.dumps({"num_nodes": value, "edge_index": [[0], [1]]}))
    with pytest.raises(ReadError, match="num_nodes"):
        graph.read(path)


def test_unhashable_node_id_is_a_read_error(tmp_path, graph):
    path = tmp_path / "g.json"
    path.write_text(json.dumps({"nodes": [{"id": [1, 2]}, {"id": "b"}], "edges": []}))
    with pytest.raises(ReadError, match="id"):
        graph.read(path)


def test_max_edges_bounds_the_graph(tmp_path, graph):
    path = tmp_path / "g.edgelist"
    path.write_text("".join(f"{i} {i + 1}\n" for i in range(20)))
    assert graph.read(path, max_edges=20).num_edges == 20
    with pytest.raises(ReadError, match="max_edges=19"):
        graph.read(path, max_edges=19)


def test_large_sparse_graph_gets_eigenvectors_quickly(graph):
    # 40,000 nodes with few edges: dense eigh would need 12.8 GB and minutes
    n = 40_000
    edges = np.random.default_rng(0).integers(0, n, (2, 200)).tolist()
    start = time.perf_counter()
    g = graph.read({"num_nodes": n, "edge_index": edges}, laplacian_k=4)
    assert time.perf_counter() - start < 60
    assert g.eigvecs.shape == (n, 4) and bool(g.eigvecs.isfinite().all())


def test_sparse_and_dense_laplacian_agree(monkeypatch):
    from metaframe_graph import laplacian

    n = 300  # a ring plus chords: distinct small eigenvalues, so the vectors are unique up to sign
    rng = np.random.default_rng(1)
    ring = np.stack([np.arange(n), (np.arange(n) + 1) % n], 1)
    edges = np.concatenate([ring, rng.integers(0, n, (300, 2))])
    dense = laplacian.laplacian_eigvecs(n, edges, 6)
    monkeypatch.setattr(laplacian, "DENSE_MAX_NODES", 10)
    banded = laplacian.laplacian_eigvecs(n, edges, 6)
    monkeypatch.setattr(laplacian, "FACTOR_MAX_ENTRIES", 0)  # force plain Lanczos
    lanczos = laplacian.laplacian_eigvecs(n, edges, 6)
    np.testing.assert_allclose(banded, dense, atol=1e-4)
    np.testing.assert_allclose(lanczos, dense, atol=1e-2)  # tolerance 1e-3: ample for positional ids


def test_json_with_a_huge_integer_or_deep_nesting_is_a_read_error(tmp_path, graph):
    big = tmp_path / "big.json"
    big.write_text('{"num_nodes": ' + "9" * 5000 + ', "edge_index": [[], []]}')
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    for path in (big, deep):
        with pytest.raises(ReadError, match="JSON") as info:
            graph.read(path)
        assert str(path) in str(info.value)


def test_feature_width_mismatch_names_the_files(tmp_path, graph):
    path = tmp_path / "two.json"
    path.write_text(json.dumps({"nodes": [{"x": [1.0, 2.0]}, {"x": [0.0, 1.0]}], "edges": [[0, 1]]}))
    batch = graph.collate([graph.read(path, laplacian_k=2)])
    assert batch.sources == [str(path)]
    tokenizer = graph.build_tokenizer(embed_dim=8, node_features=3, id_dim=2)
    with pytest.raises(ValueError, match=r"2 node_features column\(s\), the tokenizer was built for 3 \(read from .*two\.json\)"):
        tokenizer(batch)


@pytest.mark.parametrize("attrs", [{"x": [1e300]}, {"type": 1e300}, {"type": 99999999999999999999}])
def test_values_beyond_float32_or_int64_are_a_read_error(tmp_path, graph, attrs):
    path = tmp_path / "g.json"
    path.write_text(json.dumps({"nodes": [{"id": 1, **attrs}, {"id": 2, **attrs}], "edges": []}))
    with pytest.raises(ReadError, match="node 0: .*attribute") as info:
        graph.read(path)
    assert str(path) in str(info.value)


def test_category_outside_the_vocabulary_names_the_files(tmp_path, graph):
    path = tmp_path / "types.json"
    path.write_text(json.dumps({"nodes": [{"type": 7}, {"type": 0}], "edges": [[0, 1]]}))
    batch = graph.collate([graph.read(path, laplacian_k=2)])
    tokenizer = graph.build_tokenizer(embed_dim=8, node_categories=[3], id_dim=2)
    with pytest.raises(ValueError, match=r"holds 7, outside its vocabulary 0\.\.2.*\(read from .*types\.json\)"):
        tokenizer(batch)
