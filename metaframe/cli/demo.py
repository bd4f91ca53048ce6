"""``metaframe demo``: compose a tokenizer, the frozen encoder and a head, and say what happened."""

from __future__ import annotations

import argparse
from typing import Any

HELP = "a short demo: image tokenizer + frozen encoder + head, composed through the registry"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("demo", help=HELP, description=HELP)
    p.add_argument("--preset", default="tiny", help="encoder preset when no --encoder is given (default: tiny)")
    p.add_argument("--encoder", default=None, help="encoder checkpoint (e.g. Meta-Transformer_base_patch16_encoder.pth)")
    return p


def run(args: argparse.Namespace) -> int:
    import torch

    import metaframe
    from metaframe.encoder import build_encoder

    encoder = build_encoder(args.preset, checkpoint=args.encoder)
    source = f"loaded from {args.encoder}" if args.encoder else f"preset {args.preset!r}, RANDOMLY INITIALISED (pass --encoder PATH for real weights)"
    print(f"encoder: {encoder.depth} blocks, width {encoder.embed_dim}, {source}")
    image = metaframe.get_modality("image")
    tok = image.build_tokenizer(embed_dim=encoder.embed_dim)
    head = metaframe.build_head("classification", embed_dim=encoder.embed_dim, num_classes=10)
    model = metaframe.MetaModel(encoder, {"image": tok}, {"label": head})
    batch = image.collate([image.read(torch.rand(3, 64, 64)) for _ in range(2)])
    out = model({"image": batch})
    trainable = sum(p.numel() for p in model.trainable_parameters())
    frozen = sum(p.numel() for p in encoder.parameters())
    print(f"image batch {tuple(batch.shape)} -> logits {tuple(out['label'].shape)}")
    print(f"trainable parameters: {trainable:,}; frozen encoder parameters: {frozen:,}")
    return 0
