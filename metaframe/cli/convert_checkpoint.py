"""``metaframe convert-checkpoint``: any supported encoder file → metaframe safetensors."""

from __future__ import annotations

import argparse
from typing import Any

HELP = "convert an encoder checkpoint (official .pth, timm ViT, safetensors) to metaframe safetensors"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "convert-checkpoint",
        help=HELP,
        description=HELP + ". Width and depth are read from the tensors' shapes; the output holds the blocks in "
        "the official key layout with metadata (preset, dims, weights sha256). The write is atomic.",
    )
    p.add_argument("src", help="source file: Meta-Transformer_*.pth, a timm ViT state_dict, or .safetensors")
    p.add_argument("dst", help="destination .safetensors file")
    p.add_argument(
        "--num-heads",
        type=int,
        default=None,
        help="attention heads; needed when the file does not say and its shape is not a preset's "
        "(the official B/16 and L/14 are presets)",
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def run(args: argparse.Namespace) -> int:
    from metaframe.atomic import sha256_file
    from metaframe.encoder import FrozenEncoder

    if not str(args.dst).endswith(".safetensors"):
        from metaframe_registry import ConfigError

        raise ConfigError(f"destination {args.dst!r} must end with .safetensors")
    encoder = FrozenEncoder.load(args.src, num_heads=args.num_heads)
    identity = encoder.save(args.dst)
    print(
        f"wrote {args.dst}: preset={identity.preset} embed_dim={identity.embed_dim} depth={identity.depth} "
        f"num_heads={identity.num_heads}"
    )
    print(f"weights sha256: {identity.sha256}")
    print(f"file sha256:    {sha256_file(args.dst)}")
    return 0
