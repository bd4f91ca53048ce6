"""metaframe-tabular: the entry module. Torch-free: it only declares the manifest."""

from metaframe_registry import ModalityManifest, Recipe

EXTENSIONS = [".csv", ".tsv", ".parquet", ".pq", ".jsonl", ".ndjson"]

# The fitted state that matches `examples`: the conformance kit builds the tokenizer with it.
EXAMPLE_STATE = {
    "format": "metaframe-tabular/1",
    "rows_seen": 2,
    "columns": [
        {"name": "age", "type": "numeric", "mean": 40.0, "std": 10.0},
        {"name": "job", "type": "categorical", "categories": ["clerk", "nurse"]},
        {"name": "hours", "type": "numeric", "mean": 38.0, "std": 4.0},
    ],
}


def manifest() -> ModalityManifest:
    return ModalityManifest(
        name="tabular",
        description="table rows, one token per column (categorical embedding, numeric projection, missing token)",
        inputs=["file", "dataframe", "dict"],
        extensions=EXTENSIONS,
        tokenizer="metaframe_tabular.tokenizer:TabularTokenizer",
        reader="metaframe_tabular.reader:read_table",
        collate="metaframe_tabular.collate:collate_rows",
        dataset="metaframe_tabular.reader:read_dataset",
        examples="metaframe_tabular.examples:write_examples",
        demo="metaframe_tabular.demo:task",
        example_tokenizer_options={"fitted_state": EXAMPLE_STATE},
        info={
            "tokens_per_sample": "one per column (fixed by the fitted state)",
            "fittable": "fit(rows) -> fitted_state() JSON; rebuild with fitted_state=... before load_state_dict",
            "readers": "CSV / TSV / Parquet / JSON Lines (pyarrow), pandas DataFrame or Series, dict of columns, dict row",
        },
        recipe=Recipe(
            lr=1e-3, pooling="cls+max+mean", batch_size=8,
            note="sklearn wine: 0.954 / 0.969 vs 0.864 / 0.944 built-in; breast cancer 0.968 / 0.962 vs 0.957 / 0.964 (benchmarks/bench_recipes.py, 5 epochs, 200 train / 200 val, seed 0, whisper-tiny.en pre-trained and random; docs/benchmarks.md 'Plugin recipes')",
        ),
    )
