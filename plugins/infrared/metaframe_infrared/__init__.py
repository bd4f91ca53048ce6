"""metaframe-infrared: the entry module. Torch-free: it only declares the manifest."""

from metaframe_registry import ModalityManifest, Recipe

EXTENSIONS = [".png", ".tif", ".tiff"]


def manifest() -> ModalityManifest:
    return ModalityManifest(
        name="infrared",
        description="single-channel (thermal / radiometric) images as ViT patch tokens",
        inputs=["file", "array", "tensor"],
        extensions=EXTENSIONS,
        tokenizer="metaframe_infrared.tokenizer:SingleChannelPatchTokenizer",
        reader="metaframe_infrared.reader:read_infrared",
        examples="metaframe_infrared.examples:write_examples",
        tokenizer_options={"in_channels": 1, "patch_size": 16, "image_size": 224, "normalize": "none"},
        reader_options={"size": 224, "normalize": "per_image", "channels": 1},
        example_tokenizer_options={"in_channels": 1, "patch_size": 8, "image_size": 32},
        example_reader_options={"size": 32},
        info={
            "tokens_per_sample": "(image_size / patch_size)^2 = 196 at defaults",
            "bit_depths": "8- and 16-bit integer, float32 (TIFF); integers scaled by their full range, never truncated",
            "normalize": "reader: per_image | none | {mean, std}; tokenizer: none | dataset (fitted)",
            "transfer": "tokenizer option init_from=<image tokenizer .safetensors> sums RGB filters into one",
        },
        recipe=Recipe(
            lr=1e-2, pooling="cls+max+mean", batch_size=8,
            note="sklearn digits 8x8 as one-channel frames: mean val accuracy over epochs 0.575 / 0.362 (pre-trained / random encoder) vs 0.156 / 0.109 with the built-in lr 1e-3, cls, batch 32 (benchmarks/bench_recipes.py, 5 epochs, 200 train / 200 val, seed 0, whisper-tiny.en pre-trained and random; docs/benchmarks.md 'Plugin recipes')",
        ),
    )
