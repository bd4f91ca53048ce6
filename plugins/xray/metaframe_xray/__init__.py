"""metaframe-xray: the entry module. Torch-free: it only declares the manifest."""

from metaframe_registry import ModalityManifest, Recipe

EXTENSIONS = [".dcm", ".dicom", ".png", ".tif", ".tiff"]


def manifest() -> ModalityManifest:
    return ModalityManifest(
        name="xray",
        description="X-ray radiographs (DICOM, 8/16-bit PNG / TIFF) as single-channel ViT patch tokens",
        inputs=["file", "array", "tensor", "pydicom.Dataset"],
        extensions=EXTENSIONS,
        tokenizer="metaframe_xray.tokenizer:XrayPatchTokenizer",
        reader="metaframe_xray.reader:read_xray",
        examples="metaframe_xray.examples:write_examples",
        tokenizer_options={"in_channels": 1, "patch_size": 16, "image_size": 224, "normalize": "none"},
        reader_options={"size": 224, "normalize": "per_image", "channels": 1},
        example_tokenizer_options={"in_channels": 1, "patch_size": 8, "image_size": 32},
        example_reader_options={"size": 32},
        info={
            "tokens_per_sample": "(image_size / patch_size)^2 = 196 at defaults",
            "dicom": "rescale slope/intercept (modality LUT) applied, MONOCHROME1 inverted; "
            "compressed syntaxes decoded when pydicom has a decoder, refused clearly otherwise",
            "normalize": "reader: per_image | none | {mean, std}; tokenizer: none | dataset (fitted)",
            "transfer": "tokenizer option init_from=<image tokenizer .safetensors> sums RGB filters into one",
        },
        recipe=Recipe(
            lr=1e-2, pooling="cls+max+mean", batch_size=8,
            note="sklearn digits 8x8 as one-channel radiographs: 0.575 / 0.362 vs 0.156 / 0.109 built-in (benchmarks/bench_recipes.py, 5 epochs, 200 train / 200 val, seed 0, whisper-tiny.en pre-trained and random; docs/benchmarks.md 'Plugin recipes')",
        ),
    )
