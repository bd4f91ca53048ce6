"""metaframe-infrared: the entry module. Torch-free: it only declares the manifest."""

from metaframe_registry import ModalityManifest

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
    )
