"""TokenGT and the node head through the registry: layout, masks, ids, invariance, gradients."""

from __future__ import annotations

import json
import subprocess
import sys

import networkx as nx
import pytest
import torch

import metaframe


@pytest.fixture(scope="module")
def gm():
    return metaframe.get_modality("graph")


def featured(graph: nx.Graph, seed: int = 0) -> nx.Graph:
    gen = torch.Generator().manual_seed(seed)
    for n in graph:
        graph.nodes[n]["x"] = torch.rand(3, generator=gen).tolist()
        graph.nodes[n]["type"] = int(n) % 4
    for u, v in graph.edges:
        graph.edges[u, v]["type"] = (u + v) % 2
    return graph


def two_graphs(gm, **options):
    return [gm.read(featured(nx.cycle_graph(4)), **options), gm.read(featured(nx.path_graph(7), 1), **options)]


def build(gm, dim=16, **options):
    torch.manual_seed(0)
    return gm.build_tokenizer(embed_dim=dim, node_features=3, node_categories=[4], edge_categories=[2], **options)


def test_one_token_per_node_and_edge_with_masks(gm):
    tok = build(gm).eval()
    batch = gm.collate(two_graphs(gm))
    out = tok(batch)
    assert out.tokens.shape == (2, 7 + 6, 16)  # 7 node slots, 6 edge slots
    assert out.mask[:, :7].sum(1).tolist() == [4, 7] and out.mask[:, 7:].sum(1).tolist() == [4, 6]
    assert out.extras["num_nodes"].tolist() == [4, 7] and out.extras["num_edges"].tolist() == [4, 6]
    assert bool((out.tokens[~out.mask] == 0).all())


@pytest.mark.parametrize("identifiers", ["laplacian", "orf"])
def test_eval_padding_invariance(gm, identifiers):
    tok = build(gm, identifiers=identifiers).eval()
    small, big = two_graphs(gm)
    both = tok(gm.collate([small, big]))
    alone = tok(gm.collate([small]))
    n, e = 4, 4
    torch.testing.assert_close(both.tokens[0, :n], alone.tokens[0, :n])
    torch.testing.assert_close(both.tokens[0, 7 : 7 + e], alone.tokens[0, n : n + e])


def test_identifiers_distinguish_nodes_and_edges_follow_endpoints(gm):
    tok = gm.build_tokenizer(embed_dim=16, id_dim=8).eval()  # no features: ids + type only
    g = gm.read(nx.path_graph(5), laplacian_k=8, node_features=None, node_categories=None)
    out = tok(gm.collate([g]))
    nodes = out.tokens[0, :5]
    assert torch.cdist(nodes, nodes).add(torch.eye(5) * 1e3).min() > 1e-4  # every node token differs
    # an edge token is type + W_p [P_u, P_v]; reversing the edge swaps the halves
    p = g.eigvecs
    w = tok.id_proj.weight
    expected = tok.type_embed.weight[1] + torch.cat([p[0], p[1]]) @ w.t()
    torch.testing.assert_close(out.tokens[0, 5], expected)


def test_sign_flip_and_orf_are_random_in_training_only(gm):
    batch = gm.collate(two_graphs(gm))
    for identifiers in ("laplacian", "orf"):
        tok = build(gm, identifiers=identifiers)
        tok.eval()
        torch.testing.assert_close(tok(batch).tokens, tok(batch).tokens)
        tok.train()
        assert not torch.allclose(tok(batch).tokens, tok(batch).tokens)


def test_orthogonal_random_features_are_orthonormal():
    from metaframe_graph.tokenizer import orthogonal_features

    p = orthogonal_features(6, 8, 2, generator_seed=0, device=torch.device("cpu"))
    torch.testing.assert_close(p[0] @ p[0].t(), torch.eye(6), atol=1e-5, rtol=0)
    torch.testing.assert_close(p[0], p[1])
    longer = orthogonal_features(20, 8, 1, generator_seed=0, device=torch.device("cpu"))
    torch.testing.assert_close(longer[0, :6], p[0])  # rows do not depend on the graph size


def test_clear_errors_for_mismatched_options(gm):
    batch = gm.collate(two_graphs(gm))
    with pytest.raises(ValueError, match="the graphs carry 3 node_features column"):
        gm.build_tokenizer(embed_dim=16, node_features=2, node_categories=[4], edge_categories=[2])(batch)
    with pytest.raises(ValueError, match=r"node categorical column 0 holds 2, outside its vocabulary 0..1"):
        gm.build_tokenizer(embed_dim=16, node_features=3, node_categories=[2], edge_categories=[2])(batch)
    no_eig = gm.collate(two_graphs(gm, laplacian_k=None))
    with pytest.raises(ValueError, match="needs eigenvectors"):
        build(gm)(no_eig)
    assert build(gm, identifiers="orf")(no_eig).tokens.shape[0] == 2


def test_node_head_rows_in_node_order(gm):
    torch.manual_seed(0)
    encoder = metaframe.FrozenEncoder(embed_dim=16, depth=2, num_heads=2)
    tok = build(gm)
    flat = metaframe.build_head("node", embed_dim=16, out_features=5)
    model = metaframe.MetaModel(encoder, tokenizers={"graph": tok}, heads={"node": flat}).eval()
    small, big = two_graphs(gm)
    out = model({"graph": gm.collate([small, big])})["node"]
    assert out.shape == (4 + 7, 5)
    alone_small = model({"graph": gm.collate([small])})["node"]
    alone_big = model({"graph": gm.collate([big])})["node"]
    torch.testing.assert_close(out, torch.cat([alone_small, alone_big]), atol=1e-5, rtol=1e-5)
    padded = metaframe.build_head("node", embed_dim=16, out_features=5, flat=False)
    padded.load_state_dict(flat.state_dict())
    model.heads["padded"] = padded
    grid = model({"graph": gm.collate([small, big])}, heads=["padded"])["padded"]
    assert grid.shape == (2, 7, 5)
    torch.testing.assert_close(grid[0, :4], out[:4])
    assert bool((grid[0, 4:] == 0).all())


def test_gradient_reaches_tokenizer_through_frozen_encoder(gm):
    torch.manual_seed(0)
    encoder = metaframe.FrozenEncoder(embed_dim=16, depth=2, num_heads=2)
    tok = build(gm)
    heads = {
        "graph": metaframe.build_head("classification", embed_dim=16, num_classes=2, pooling="mean"),
        "node": metaframe.build_head("node", embed_dim=16, out_features=3),
    }
    model = metaframe.MetaModel(encoder, tokenizers={"graph": tok}, heads=heads).train()
    out = model({"graph": gm.collate(two_graphs(gm))})
    loss = out["graph"].logsumexp(-1).sum() + out["node"].pow(2).mean()
    loss.backward()
    for module in (tok.node_proj, tok.id_proj, tok.node_embed.embed, tok.edge_embed.embed, tok.type_embed):
        assert module.weight.grad is not None and module.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in encoder.parameters())


def test_plugin_modules_torch_free_and_cli_lists_graph():
    code = (
        "import sys, metaframe_graph, metaframe_graph.hooks; metaframe_graph.manifest(); "
        "assert 'torch' not in sys.modules; print('ok')"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "metaframe", "list-modalities", "--format", "json"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["graph"]["status"] == "ok" and ".graphml" in rows["graph"]["extensions"]


def test_graphs_without_edges_and_with_self_loops(gm):
    tok = gm.build_tokenizer(embed_dim=16, node_features=1).eval()
    lonely = gm.read({"nodes": [{"x": 1.0}, {"x": 2.0}], "edges": []})
    looped = gm.read({"nodes": [{"x": 1.0}], "edges": [[0, 0]]})
    out = tok(gm.collate([lonely, lonely]))
    assert out.tokens.shape == (2, 2, 16) and bool(out.mask.all())
    mixed = tok(gm.collate([lonely, looped]))
    assert mixed.tokens.shape == (2, 3, 16)
    assert mixed.mask.tolist() == [[True, True, False], [True, False, True]]
    torch.testing.assert_close(mixed.tokens[0, :2], out.tokens[0])


def test_cli_encode_graph_files_and_report_a_bad_one(tmp_path):
    import numpy as np

    (tmp_path / "a.edgelist").write_text("a b\nb c\n")
    (tmp_path / "b.edges").write_text("1 2\n2 3\n3 4\n4 1\n")
    (tmp_path / "c.json").write_text('{"nodes": [1, 2], "edges": [[1, 3]]}')
    out = tmp_path / "emb.npy"
    result = subprocess.run(
        [sys.executable, "-m", "metaframe", "encode", "graph", str(tmp_path), "--out", str(out), "--skip-errors", "-q"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 1, result.stderr
    assert np.load(out).shape == (2, 192)
    index = json.loads((tmp_path / "emb.npy.json").read_text())
    assert "refers to node 3, which is not among the 2 nodes" in json.dumps(index["failed"])


def test_cli_trains_on_a_graph_dataset(tmp_path):
    graphs = []
    for i in range(8):
        n = 3 + i % 4
        edges = [[j, j + 1] for j in range(n - 1)] + ([[n - 1, 0]] if i % 2 else [])
        graphs.append({"nodes": [{"x": [1.0]} for _ in range(n)], "edges": edges, "y": i % 2})
    (tmp_path / "graphs.json").write_text(json.dumps(graphs))
    (tmp_path / "config.yaml").write_text(
        "modality: graph\ntokenizer: {node_features: 1}\nencoder: {embed_dim: 32, depth: 2, num_heads: 2}\n"
        "head: {kind: classification, options: {num_classes: 2, pooling: mean}}\n"
        "data: {train: graphs.json, format: dataset, val_fraction: 0.25}\nepochs: 1\nbatch_size: 4\noutput_dir: runs/g\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "metaframe", "train", "config.yaml", "-q"], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    metrics = [json.loads(line) for line in (tmp_path / "runs/g/metrics.jsonl").read_text().splitlines() if line.strip()]
    assert metrics[-1]["kind"] == "val" and 0 < metrics[-1]["val_loss"] < 100
