"""Every graph source, written small in tmp_path, read through the registry; bad input."""

from __future__ import annotations

import json
from types import SimpleNamespace

import networkx as nx
import numpy as np
import pytest
import torch

import metaframe
from metaframe import ReadError


@pytest.fixture(scope="module")
def gm():
    return metaframe.get_modality("graph")


def triangle_json() -> dict:
    return {
        "nodes": [
            {"id": "a", "x": [1.0, 2.0], "type": 0},
            {"id": "b", "x": [3.0, 4.0], "type": 2},
            {"id": "c", "x": [5.0, 6.0], "type": 1},
            {"id": "d", "x": [7.0, 8.0], "type": 1},
        ],
        "edges": [
            {"source": "a", "target": "b", "x": 0.5},
            {"source": "b", "target": "c", "x": 1.5},
            {"source": "c", "target": "a", "x": 2.5},
        ],
    }


def test_json_node_link(gm, tmp_path):
    path = tmp_path / "g.json"
    path.write_text(json.dumps(triangle_json()))
    g = gm.read(path)
    assert g.num_nodes == 4 and g.num_edges == 3 and g.node_ids == ["a", "b", "c", "d"]
    assert g.edge_index.tolist() == [[0, 1, 2], [1, 2, 0]]
    assert g.node_features.tolist() == [[1, 2], [3, 4], [5, 6], [7, 8]]
    assert g.node_categories[:, 0].tolist() == [0, 2, 1, 1]
    assert g.edge_features[:, 0].tolist() == [0.5, 1.5, 2.5]
    assert g.eigvecs.shape == (4, 16)


def test_json_array_layout_and_dict_in_memory(gm):
    g = gm.read({"num_nodes": 3, "edge_index": [[0, 1], [1, 2]], "node_features": [[1.0], [2.0], [3.0]]})
    assert g.edge_index.tolist() == [[0, 1], [1, 2]] and g.node_features[:, 0].tolist() == [1, 2, 3]


def test_networkx_object_and_node_link_json_roundtrip(gm, tmp_path):
    graph = nx.path_graph(5)
    for n in graph:
        graph.nodes[n]["x"] = [float(n), -float(n)]
    direct = gm.read(graph)
    path = tmp_path / "nl.json"
    path.write_text(json.dumps(nx.node_link_data(graph)))
    via_json = gm.read(path)
    for g in (direct, via_json):
        assert g.num_nodes == 5 and g.num_edges == 4
        assert g.node_features[:, 0].tolist() == [0, 1, 2, 3, 4]
    torch.testing.assert_close(direct.eigvecs, via_json.eigvecs)


@pytest.mark.parametrize("suffix", [".graphml", ".gml"])
def test_graphml_and_gml(gm, tmp_path, suffix):
    graph = nx.cycle_graph(6)
    for n in graph:
        graph.nodes[n]["weight"] = float(n) / 10
        graph.nodes[n]["kind"] = n % 3
    for u, v in graph.edges:
        graph.edges[u, v]["length"] = float(u + v)
    path = tmp_path / f"g{suffix}"
    (nx.write_graphml if suffix == ".graphml" else nx.write_gml)(graph, path)
    g = gm.read(path, node_features=["weight"], node_categories=["kind"], edge_features=["length"])
    assert g.num_nodes == 6 and g.num_edges == 6
    np.testing.assert_allclose(g.node_features[:, 0], [n / 10 for n in range(6)], rtol=1e-6)
    assert g.node_categories[:, 0].tolist() == [0, 1, 2, 0, 1, 2]
    assert sorted(g.edge_features[:, 0].tolist()) == sorted(float(u + v) for u, v in graph.edges)


def test_edge_list_with_node_table(gm, tmp_path):
    (tmp_path / "mol.edgelist").write_text("# src dst bond_len\nc1 c2 1.5\nc2 o1 1.2\n")
    (tmp_path / "mol.nodes.csv").write_text("id,charge,mass,element\nc1,0.1,12.0,6\nc2,-0.1,12.0,6\no1,0.0,16.0,8\nh1,0.0,1.0,1\n")
    g = gm.read(tmp_path / "mol.edgelist", node_categories=["element"])  # sibling table found by name
    assert g.node_ids == ["c1", "c2", "o1", "h1"]  # table order, isolated h1 kept
    assert g.edge_index.tolist() == [[0, 1], [1, 2]]
    np.testing.assert_allclose(g.node_features, [[0.1, 12], [-0.1, 12], [0, 16], [0, 1]], rtol=1e-6)
    assert g.node_categories[:, 0].tolist() == [6, 6, 8, 1]
    assert g.edge_features[:, 0].tolist() == pytest.approx([1.5, 1.2])
    plain = gm.read(tmp_path / "mol.edgelist", node_table=None, node_categories=None)
    assert plain.num_nodes == 4


def test_edge_list_without_table(gm, tmp_path):
    (tmp_path / "g.edges").write_text("1 2\n2 3\n3 1\n")
    g = gm.read(tmp_path / "g.edges")
    assert g.node_ids == ["1", "2", "3"] and g.num_edges == 3 and g.node_features.shape == (3, 0)


def test_pyg_like_data_object(gm):
    data = SimpleNamespace(
        edge_index=torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]),
        num_nodes=3,
        x=torch.tensor([[1.0], [2.0], [3.0]]),
        edge_attr=torch.tensor([[0.1], [0.1], [0.2], [0.2]]),
    )
    g = gm.read(data)
    assert g.num_edges == 4 and g.node_features[:, 0].tolist() == [1, 2, 3]
    assert g.edge_features[:, 0].tolist() == pytest.approx([0.1, 0.1, 0.2, 0.2])


def test_laplacian_eigenvectors_are_eigenvectors_and_zero_padded(gm):
    graph = nx.cycle_graph(5)
    g = gm.read(graph, laplacian_k=8)
    a = nx.to_numpy_array(graph)
    d = np.diag(1 / np.sqrt(a.sum(1)))
    lap = np.eye(5) - d @ a @ d
    vecs = g.eigvecs.double().numpy()
    values = np.linalg.eigvalsh(lap)
    for i in range(5):
        np.testing.assert_allclose(lap @ vecs[:, i], values[i] * vecs[:, i], atol=1e-5)
    assert np.all(vecs[:, 5:] == 0)
    again = gm.read(graph, laplacian_k=8)
    assert torch.equal(g.eigvecs, again.eigvecs)  # deterministic, sign fixed


def test_graph_dataset_with_targets(gm, tmp_path):
    path = tmp_path / "set.json"
    path.write_text(json.dumps([{**triangle_json(), "y": 1}, {"nodes": [{"x": [0.0, 0.0]}], "edges": [], "y": 0}]))
    pairs = gm.dataset(path)
    assert [y for _, y in pairs] == [1, 0] and pairs[1][0].num_nodes == 1
    path.write_text(json.dumps([triangle_json()]))
    with pytest.raises(ReadError, match=r"set\.json: graph 0 has no 'y' field"):
        gm.dataset(path)


# -- bad input --------------------------------------------------------------------------------

def test_edge_to_missing_node_json(gm, tmp_path):
    data = triangle_json()
    data["edges"].append({"source": "a", "target": "zz"})
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ReadError, match=r"bad\.json: edge 3 refers to node 'zz', which is not among the 4 nodes"):
        gm.read(path)


def test_edge_to_missing_node_edge_list_and_arrays(gm, tmp_path):
    (tmp_path / "e.edgelist").write_text("a b\nb q\n")
    (tmp_path / "n.csv").write_text("id,f\na,1\nb,2\n")
    with pytest.raises(ReadError, match=r"e\.edgelist: line 2: edge refers to node 'q', which is not in the node table"):
        gm.read(tmp_path / "e.edgelist", node_table=str(tmp_path / "n.csv"))
    with pytest.raises(ReadError, match=r"edge 1 refers to node 5, outside 0..2"):
        gm.read({"num_nodes": 3, "edge_index": [[0, 1], [1, 5]]})


def test_malformed_json_names_line_and_column(gm, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"nodes": [\n  {"id": 1},\n  {"id": 2,}\n]}')
    with pytest.raises(ReadError, match=r"broken\.json: malformed JSON at line 3, column"):
        gm.read(path)


def test_ragged_rows(gm, tmp_path):
    (tmp_path / "r.edgelist").write_text("a b 1.0\nb c\n")
    with pytest.raises(ReadError, match=r"r\.edgelist: line 2 has 2 fields, the first edge line has 3"):
        gm.read(tmp_path / "r.edgelist")
    (tmp_path / "t.edgelist").write_text("a b\n")
    (tmp_path / "t.nodes.csv").write_text("id,f,g\na,1,2\nb,3\n")
    with pytest.raises(ReadError, match=r"t\.nodes\.csv: line 3 has 2 fields, the header has 3"):
        gm.read(tmp_path / "t.edgelist")


def test_empty_and_unknown_files(gm, tmp_path):
    (tmp_path / "empty.graphml").write_text("")
    with pytest.raises(ReadError, match=r"empty\.graphml: file is empty"):
        gm.read(tmp_path / "empty.graphml")
    (tmp_path / "junk.graphml").write_text("<graphml><graph><node></graph>")
    with pytest.raises(ReadError, match=r"junk\.graphml: not a valid GraphML file"):
        gm.read(tmp_path / "junk.graphml")
    (tmp_path / "g.xyz").write_text("1 2\n")
    with pytest.raises(ReadError, match="unknown graph extension"):
        gm.read(tmp_path / "g.xyz")
    with pytest.raises(ReadError, match="graph has no nodes"):
        gm.read({"nodes": [], "edges": []})


def test_inconsistent_attributes(gm):
    data = triangle_json()
    del data["nodes"][2]["x"]
    with pytest.raises(ReadError, match="node 2 has no attribute 'x', which other nodes have"):
        gm.read(data)
    data = triangle_json()
    data["nodes"][1]["type"] = 1.5
    with pytest.raises(ReadError, match="node 1: categorical attribute 'type' holds 1.5"):
        gm.read(data)
    data = triangle_json()
    data["nodes"][3]["x"] = [1.0]
    with pytest.raises(ReadError, match="node 3: attribute 'x' has 1 values, node 0 has 2"):
        gm.read(data)
