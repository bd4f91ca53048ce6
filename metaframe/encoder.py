"""The frozen, shared encoder g: timm ViT blocks whose parameters never change.

Tokens and a key-padding mask in, tokens out. No patch embedding, [CLS], positions or final
norm live here (the official checkpoints hold the blocks only): tokenizers own positions,
MetaModel owns [CLS], modality embeddings and the final LayerNorm.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from .atomic import atomic_path
from .encoder_checkpoint import (
    BLOCK_KEYS,
    METADATA_FORMAT,
    CheckpointError,
    infer_shape,
    key_diff,
    read_encoder_file,
)
from .encoder_presets import PRESETS, get_preset, match_preset


@dataclass(frozen=True)
class EncoderIdentity:
    """What a training checkpoint records, so it is never combined with the wrong encoder."""

    preset: str
    embed_dim: int
    depth: int
    num_heads: int
    mlp_ratio: float
    norm_eps: float
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _make_block(embed_dim: int, num_heads: int, mlp_ratio: float, norm_eps: float) -> nn.Module:
    from functools import partial

    from timm.models.vision_transformer import Block

    return Block(
        embed_dim,
        num_heads,
        mlp_ratio=mlp_ratio,
        qkv_bias=True,
        norm_layer=partial(nn.LayerNorm, eps=norm_eps),
        act_layer=nn.GELU,
    )


class FrozenEncoder(nn.Module):
    """A stack of frozen timm ViT blocks (fused scaled-dot-product attention).

    Parameters have ``requires_grad=False`` and the module stays in eval mode even inside
    ``model.train()``; gradients still flow through it to the tokenizers. Set
    ``gradient_checkpointing = True`` to recompute block activations in the backward pass.
    """

    def __init__(
        self,
        embed_dim: int,
        depth: int,
        num_heads: int,
        mlp_ratio: float = 4.0,
        preset: str | None = None,
        norm_eps: float = 1e-5,
    ) -> None:
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim {embed_dim} is not divisible by num_heads {num_heads}")
        self.embed_dim = embed_dim
        self.depth = depth
        self.num_heads = num_heads
        self.mlp_ratio = mlp_ratio
        self.norm_eps = norm_eps
        self.preset = preset or match_preset(embed_dim, depth, num_heads, mlp_ratio) or "custom"
        self.blocks = nn.Sequential(*[_make_block(embed_dim, num_heads, mlp_ratio, norm_eps) for _ in range(depth)])
        self.gradient_checkpointing = False
        self._sha256: str | None = None
        self.requires_grad_(False)
        super().train(False)

    # -- construction --------------------------------------------------------------------
    @classmethod
    def from_preset(cls, name: str, seed: int | None = 0) -> "FrozenEncoder":
        """A randomly initialised encoder of a preset shape (tiny, small, base, large)."""
        p = get_preset(name)
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            return cls(p.embed_dim, p.depth, p.num_heads, p.mlp_ratio, preset=p.name)

    @classmethod
    def load(
        cls, path: str | Path, num_heads: int | None = None, dtype: torch.dtype = torch.float32
    ) -> "FrozenEncoder":
        """Load blocks from the official .pth, a timm ViT state_dict or metaframe safetensors.

        Width and depth come from the tensors' shapes; heads from the file's metadata, the
        argument, or width / 64 (the ViT convention). Keys are checked strictly. LayerNorm eps
        is 1e-5 (CLIP / the official files) except for timm ViT state_dicts (timm uses 1e-6).
        """
        weights = read_encoder_file(path)
        embed_dim, depth, mlp_ratio = infer_shape(weights.state_dict, path)
        heads = num_heads or int(weights.metadata.get("num_heads", 0)) or max(1, embed_dim // 64)
        preset = weights.metadata.get("preset") or None
        if preset is not None and preset in PRESETS and preset != match_preset(embed_dim, depth, heads, mlp_ratio):
            preset = None
        default_eps = 1e-6 if weights.source_format == "timm-vit" else 1e-5
        norm_eps = float(weights.metadata.get("norm_eps", default_eps))
        with torch.device("meta"):
            encoder = cls(embed_dim, depth, heads, mlp_ratio, preset=preset, norm_eps=norm_eps)
        expected = {k: v.shape for k, v in encoder.blocks.state_dict().items()}
        diff = key_diff(expected, weights.state_dict)
        if diff:
            raise CheckpointError(
                f"{path}: the weights do not match {depth} ViT blocks of width {embed_dim} "
                f"({weights.source_format} layout):\n{diff}"
            )
        tensors = {k: v.to(dtype) if v.is_floating_point() else v for k, v in weights.state_dict.items()}
        encoder.blocks.load_state_dict(tensors, strict=True, assign=True)
        encoder.requires_grad_(False)
        if weights.metadata.get("sha256") and dtype == torch.float32:
            encoder._sha256 = weights.metadata["sha256"]
        return encoder

    # -- behaviour -----------------------------------------------------------------------
    def train(self, mode: bool = True) -> "FrozenEncoder":
        """Stay in eval mode whatever is asked: the encoder is frozen (dropout, norms)."""
        return super().train(False)

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``tokens`` ``[B, N, D]``, ``mask`` ``[B, N]`` (True = real) → ``[B, N, D]``.

        Padded keys are masked out of attention, so real tokens' outputs do not depend on
        how much padding the batch carries.
        """
        if tokens.dim() != 3 or tokens.shape[-1] != self.embed_dim:
            raise ValueError(f"expected tokens [batch, tokens, {self.embed_dim}], got {tuple(tokens.shape)}")
        attn_mask = None
        if mask is not None and not bool(mask.all()):
            attn_mask = mask[:, None, None, :].to(torch.bool)
        x = tokens
        for block in self.blocks:
            if self.gradient_checkpointing and torch.is_grad_enabled() and x.requires_grad:
                x = checkpoint(block, x, attn_mask, use_reentrant=False)
            else:
                x = block(x, attn_mask=attn_mask)
        return x

    # -- identity and saving -------------------------------------------------------------
    def weights_sha256(self) -> str:
        """sha256 over the blocks' tensors in key order (independent of file format)."""
        if self._sha256 is None:
            digest = hashlib.sha256()
            for key, tensor in self.blocks.state_dict().items():
                t = tensor.detach().to("cpu").contiguous()
                digest.update(f"{key}:{t.dtype}:{tuple(t.shape)};".encode())
                digest.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
            self._sha256 = digest.hexdigest()
        return self._sha256

    @property
    def identity(self) -> EncoderIdentity:
        return EncoderIdentity(
            self.preset,
            self.embed_dim,
            self.depth,
            self.num_heads,
            self.mlp_ratio,
            self.norm_eps,
            self.weights_sha256(),
        )

    def save(self, path: str | Path) -> EncoderIdentity:
        """Write safetensors in the official key layout with metadata (atomic)."""
        from safetensors.torch import save_file

        identity = self.identity
        metadata = {
            "format": METADATA_FORMAT,
            "preset": identity.preset,
            "embed_dim": str(identity.embed_dim),
            "depth": str(identity.depth),
            "num_heads": str(identity.num_heads),
            "mlp_ratio": str(identity.mlp_ratio),
            "norm_eps": repr(identity.norm_eps),
            "sha256": identity.sha256,
            "identity": json.dumps(identity.to_dict()),
        }
        tensors = {k: v.detach().to("cpu").contiguous() for k, v in self.blocks.state_dict().items()}
        with atomic_path(path) as tmp:
            save_file(tensors, str(tmp), metadata=metadata)
        return identity

    def extra_repr(self) -> str:
        return (
            f"preset={self.preset}, embed_dim={self.embed_dim}, depth={self.depth}, "
            f"num_heads={self.num_heads}, norm_eps={self.norm_eps}"
        )


def build_encoder(preset: str = "base", checkpoint: str | Path | None = None, seed: int | None = 0) -> FrozenEncoder:
    """The registered factory of the built-in encoder: a checkpoint if given, else a preset."""
    if checkpoint is not None:
        return FrozenEncoder.load(checkpoint)
    return FrozenEncoder.from_preset(preset, seed=seed)


__all__ = ["BLOCK_KEYS", "EncoderIdentity", "FrozenEncoder", "build_encoder"]
