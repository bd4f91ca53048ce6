"""metaframe-graph: the entry module. Torch-free: it only declares the manifest."""

from metaframe_registry import ModalityManifest, Recipe

EXTENSIONS = [".json", ".edgelist", ".edges", ".graphml", ".gml"]


def manifest() -> ModalityManifest:
    return ModalityManifest(
        name="graph",
        description="graphs as TokenGT tokens: one per node and one per edge, Laplacian or random-orthogonal node ids",
        inputs=["file", "networkx", "dict", "torch_geometric"],
        extensions=EXTENSIONS,
        tokenizer="metaframe_graph.tokenizer:TokenGT",
        reader="metaframe_graph.reader:read_graph",
        collate="metaframe_graph.collate:collate_graphs",
        dataset="metaframe_graph.dataset:graph_dataset",
        examples="metaframe_graph.examples:write_examples",
        tokenizer_options={"identifiers": "laplacian", "id_dim": 16},
        reader_options={"laplacian_k": 16},
        example_tokenizer_options={"node_features": 2, "id_dim": 4},
        example_reader_options={"laplacian_k": 4},
        info={
            "tokens_per_sample": "nodes + edges (padded to the batch's largest, with a mask)",
            "heads": ["node (this plugin: per-node rows in node order)", "classification / regression (graph level)"],
        },
        recipe=Recipe(
            note="networkx ER / BA / WS graphs: no grid point beat the built-in lr 1e-3, cls, batch 32 (0.393 / 0.387; batch 8 with cls+max+mean 0.345-0.374) (benchmarks/bench_recipes.py, 5 epochs, 200 train / 200 val, seed 0, whisper-tiny.en pre-trained and random; docs/benchmarks.md 'Plugin recipes')",
        ),
    )
