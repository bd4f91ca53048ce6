"""The core's own hook plugin: built-in heads and encoder, registered like a third party's.

Declared as the ``metaframe.plugins`` entry point ``builtin`` of the ``metaframe``
distribution. Imports nothing heavy: factories are "module:attr" strings.
"""

from __future__ import annotations

from metaframe_registry import hookimpl


@hookimpl
def metaframe_register_heads(register):  # type: ignore[no-untyped-def]
    register("classification", "metaframe.heads:ClassificationHead", "logits from [CLS], mean or cls+max+mean pooling")
    register("regression", "metaframe.heads:RegressionHead", "real values of any shape from a pooled vector")
    register("token", "metaframe.heads:TokenHead", "per-token outputs for one modality's tokens")
    register("embedding", "metaframe.heads:EmbeddingHead", "L2-normalised projection for retrieval")


@hookimpl
def metaframe_register_encoders(register):  # type: ignore[no-untyped-def]
    register("vit", "metaframe.encoder:build_encoder", "frozen ViT blocks: presets (random), official .pth, timm ViT files")
    register("timm", "metaframe.encoder_timm:load_timm", "the blocks of a timm model by name (pretrained or a local file)")
    register("none", "metaframe.encoder_none:build_no_encoder", "no encoder: tokens straight to the head (ablation)")
    register("bert", "metaframe.encoder_bert:load_bert", "post-LN BERT-family blocks from a Hugging Face folder (path)")
    register("whisper-tiny.en", "metaframe.pretrained:build_whisper_tiny_en", "packaged Whisper tiny.en encoder (offline)")
    register("all-minilm-l6-v2", "metaframe.pretrained:build_all_minilm_l6_v2", "packaged all-MiniLM-L6-v2 blocks (offline)")
