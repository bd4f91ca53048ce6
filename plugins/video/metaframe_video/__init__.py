"""metaframe-video: the entry module. Torch-free: it only declares the manifest."""

from metaframe_registry import ModalityManifest

from .geometry import MAX_RECOMMENDED_TOKENS, num_tokens

EXTENSIONS = [".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi", ".mpg", ".mpeg", ".ogv", ".gif"]

TOKENIZER_OPTIONS = {"in_channels": 3, "num_frames": 16, "image_size": 224, "tubelet_size": 2, "patch_size": 16}
READER_OPTIONS = {"num_frames": 16, "size": 224, "normalize": "imagenet", "channels": 3}


def manifest() -> ModalityManifest:
    grid = "(num_frames / tubelet_size) * (image_size / patch_size)^2"
    return ModalityManifest(
        name="video",
        description="video clips (files through PyAV, or frame folders) as tubelet tokens",
        inputs=["file", "folder", "array", "tensor"],
        extensions=EXTENSIONS,
        tokenizer="metaframe_video.tokenizer:TubeletTokenizer",
        reader="metaframe_video.reader:read_video",
        collate="metaframe_video.collate:collate_clips",
        examples="metaframe_video.examples:write_examples",
        tokenizer_options=TOKENIZER_OPTIONS,
        reader_options=READER_OPTIONS,
        example_tokenizer_options={**TOKENIZER_OPTIONS, "num_frames": 4, "image_size": 32},
        example_reader_options={"num_frames": 4, "size": 32},
        info={
            "sample": "float tensor [C, T, H, W]",
            "tokens_per_sample": f"{grid} = {num_tokens(16, 224, 2, 16)} at defaults",
            "tokens_at_defaults": num_tokens(16, 224, 2, 16),
            "tokens_examples": {
                "8 frames, 224": num_tokens(8, 224),
                "16 frames, 224": num_tokens(16, 224),
                "32 frames, 224": num_tokens(32, 224),
                "16 frames, 112": num_tokens(16, 112),
            },
            "warns_above_tokens": MAX_RECOMMENDED_TOKENS,
            "tubelet": "Conv3d kernel = stride = (tubelet_size, patch_size, patch_size), default (2, 16, 16)",
            "sampling": "uniform (default) or strided (sampling_rate); short clips repeat frames",
            "inflation": "metaframe_video.inflate:inflate_from_image (average | central)",
        },
    )
