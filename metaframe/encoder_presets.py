"""Encoder shapes: the official B/16 and L/14 and small CPU-friendly ones."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EncoderPreset:
    name: str
    embed_dim: int
    depth: int
    num_heads: int
    mlp_ratio: float = 4.0


PRESETS: dict[str, EncoderPreset] = {
    p.name: p
    for p in (
        EncoderPreset("tiny", 192, 12, 3),
        EncoderPreset("small", 384, 12, 6),
        EncoderPreset("base", 768, 12, 12),  # Meta-Transformer_base_patch16_encoder.pth
        EncoderPreset("large", 1024, 24, 16),  # Meta-Transformer_large_patch14_encoder.pth
    )
}


def get_preset(name: str) -> EncoderPreset:
    if name not in PRESETS:
        raise KeyError(f"unknown encoder preset {name!r}; choose one of: {', '.join(PRESETS)}")
    return PRESETS[name]


def match_preset(embed_dim: int, depth: int, num_heads: int, mlp_ratio: float) -> str | None:
    for p in PRESETS.values():
        if (p.embed_dim, p.depth, p.num_heads, p.mlp_ratio) == (embed_dim, depth, num_heads, mlp_ratio):
            return p.name
    return None
