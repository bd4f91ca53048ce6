"""metaframe-point-cloud: the entry module. Torch-free: it declares the manifest.

``farthest_point_sample`` and ``knn`` are importable from here but load torch only on first
access (module ``__getattr__``), so discovery never imports torch.
"""

from __future__ import annotations

from metaframe_registry import ModalityManifest, Recipe, lazy_module

EXTENSIONS = [".ply", ".off", ".xyz", ".txt", ".csv", ".pts", ".npy", ".npz", ".pcd"]

_LAZY = {
    "farthest_point_sample": "metaframe_point_cloud.sampling",
    "knn": "metaframe_point_cloud.sampling",
    "PointCloudBatch": "metaframe_point_cloud.collate",
    "PointPatchEmbed": "metaframe_point_cloud.tokenizer",
    "read_point_cloud": "metaframe_point_cloud.reader",
    "augment_points": "metaframe_point_cloud.augment",
}

__all__ = ["EXTENSIONS", "manifest", *_LAZY]


def manifest() -> ModalityManifest:
    return ModalityManifest(
        name="point_cloud",
        description="3-D point clouds as PointPatchEmbed tokens (FPS centres, kNN groups, mini-PointNet)",
        inputs=["file", "array", "tensor"],
        extensions=EXTENSIONS,
        tokenizer="metaframe_point_cloud.tokenizer:PointPatchEmbed",
        reader="metaframe_point_cloud.reader:read_point_cloud",
        collate="metaframe_point_cloud.collate:collate_point_clouds",
        dataset="metaframe_point_cloud.dataset:modelnet_dataset",
        examples="metaframe_point_cloud.examples:write_examples",
        tokenizer_options={"center_ratio": 0.25, "k": 32},
        reader_options={"num_points": 1024, "sampling": "fps", "normalize": True},
        example_tokenizer_options={"center_ratio": 0.25, "k": 8},
        example_reader_options={"num_points": None},
        info={
            "tokens_per_sample": "center_ratio * points = 256 at 1024 points",
            "formats": "PLY (ascii/binary), OFF, XYZ/TXT/CSV, NPY/NPZ, PCD (ascii/binary)",
            "features": ["normals", "colour", "intensity"],
        },
        recipe=Recipe(
            lr=3e-3, pooling="cls+max+mean", batch_size=8,
            note="4 noisy primitive shapes, 128 points: 0.521 / 0.508 vs 0.247 / 0.246 (chance) built-in (benchmarks/bench_recipes.py, 5 epochs, 200 train / 200 val, seed 0, whisper-tiny.en pre-trained and random; docs/benchmarks.md 'Plugin recipes')",
        ),
    )


__getattr__, __dir__ = lazy_module(__name__, _LAZY)
