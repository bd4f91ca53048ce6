"""metaframe-time-series: the entry module. Torch-free: it only declares the manifest."""

from metaframe_registry import ModalityManifest, Recipe

EXTENSIONS = [".csv", ".parquet", ".pq", ".npy"]


def manifest() -> ModalityManifest:
    return ModalityManifest(
        name="time_series",
        description="univariate / multivariate series as per-step (official) or patch (PatchTST) tokens",
        inputs=["file", "array", "tensor", "dataframe"],
        extensions=EXTENSIONS,
        tokenizer="metaframe_time_series.tokenizer:build_tokenizer",
        reader="metaframe_time_series.reader:read_series",
        collate="metaframe_time_series.collate:collate_series",
        dataset="metaframe_time_series.windows:dataset",
        examples="metaframe_time_series.examples:write_examples",
        demo="metaframe_time_series.demo:task",
        # ETTh1 (7 variables, input 96 steps) is the documented default setup.
        tokenizer_options={"mode": "step", "in_channels": 7},
        reader_options={"timestamp_column": "auto", "nan_policy": "error"},
        example_tokenizer_options={"mode": "patch", "in_channels": 3, "patch_len": 8, "stride": 4},
        example_reader_options={"timestamp_column": "auto"},
        info={
            "modes": ["step", "patch"],
            "official_setup": "ETTh1 forecasting: input 96 steps, 7 variables (HUFL..OT), date column -> time features",
            "nan_policies": ["error", "ffill", "zero", "interpolate"],
            "heads": ["forecast", "informer_decoder"],
        },
        recipe=Recipe(
            lr=1e-2, pooling="cls+max+mean", batch_size=8,
            note="4 noisy waveforms, 64 steps: 0.354 / 0.402 vs 0.288 / 0.267 built-in (benchmarks/bench_recipes.py, 5 epochs, 200 train / 200 val, seed 0, whisper-tiny.en pre-trained and random; docs/benchmarks.md 'Plugin recipes')",
        ),
    )
