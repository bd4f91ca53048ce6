"""metaframe-image: the entry module. Torch-free: it only declares the manifest."""

from metaframe_registry import ModalityManifest

EXTENSIONS = [".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"]


def manifest() -> ModalityManifest:
    return ModalityManifest(
        name="image",
        description="RGB (or any-channel) images as ViT patch tokens",
        inputs=["file", "array", "tensor"],
        extensions=EXTENSIONS,
        tokenizer="metaframe_image.tokenizer:PatchTokenizer",
        reader="metaframe_image.reader:read_image",
        examples="metaframe_image.examples:write_examples",
        tokenizer_options={"in_channels": 3, "patch_size": 16, "image_size": 224},
        reader_options={"size": 224, "normalize": "imagenet", "channels": 3},
        example_tokenizer_options={"in_channels": 3, "patch_size": 8, "image_size": 32},
        example_reader_options={"size": 32},
        info={"tokens_per_sample": "(image_size / patch_size)^2 = 196 at defaults"},
    )
