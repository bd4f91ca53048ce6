"""The frozen, shared encoder g: a stack of transformer blocks whose parameters never change.

Tokens and a key-padding mask in, tokens out. No patch embedding, [CLS], positions or final
norm live here (the official checkpoints hold the blocks only): tokenizers own positions,
MetaModel owns [CLS], modality embeddings and the final LayerNorm. A pre-trained model's own
input norm (timm's ``norm_pre``, CLIP's ``ln_pre``) is kept as
``norm_pre``, frozen like the blocks. The blocks are timm ViT ``Block``s by default; other
backends (timm models by name, plugins') hand in their own blocks, which take
``block(x, attn_mask=...)`` with a boolean mask ``[B, 1, 1, N]`` (True = attend).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from .atomic import atomic_path
from .encoder_checkpoint import (
    BLOCK_KEYS,
    METADATA_FORMAT,
    NORM_PRE_PREFIX,
    CheckpointError,
    block_indices,
    index_ranges,
    infer_shape,
    key_diff,
    non_finite,
    read_encoder_file,
)
from .encoder_presets import PRESETS, get_preset, match_preset

if TYPE_CHECKING:
    from .merging import TokenMerging


BlockHook = Callable[[int, torch.Tensor], torch.Tensor]
"""``(block index, block input [B, N, D]) -> block input``: see ``FrozenEncoder.forward``."""


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
    backend: str = "vit"
    source: str = ""  # where the weights came from: a timm name, a file name, "random"

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
    """A stack of frozen transformer blocks (timm ViT blocks with fused attention by default).

    Parameters have ``requires_grad=False`` and the module stays in eval mode even inside
    ``model.train()``; gradients still flow through it to the tokenizers. Set
    ``gradient_checkpointing = True`` to recompute block activations in the backward pass.
    ``blocks`` / ``norm_pre`` let a backend hand in a pre-trained model's own modules.
    """

    def __init__(
        self,
        embed_dim: int,
        depth: int,
        num_heads: int,
        mlp_ratio: float = 4.0,
        preset: str | None = None,
        norm_eps: float = 1e-5,
        *,
        blocks: list[nn.Module] | nn.Sequential | None = None,
        norm_pre: nn.Module | None = None,
        backend: str = "vit",
        source: str = "",
    ) -> None:
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim {embed_dim} is not divisible by num_heads {num_heads}")
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.mlp_ratio = mlp_ratio
        self.norm_eps = norm_eps
        self.backend = backend
        self.source = source
        if blocks is None:
            blocks = [_make_block(embed_dim, num_heads, mlp_ratio, norm_eps) for _ in range(depth)]
        self.blocks = blocks if isinstance(blocks, nn.Sequential) else nn.Sequential(*blocks)
        self.depth = len(self.blocks)
        self.norm_pre = norm_pre if norm_pre is not None else nn.Identity()
        self.preset = preset or (backend == "vit" and match_preset(embed_dim, self.depth, num_heads, mlp_ratio)) or "custom"
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
            return cls(p.embed_dim, p.depth, p.num_heads, p.mlp_ratio, preset=p.name, source=f"random(seed={seed})")

    @classmethod
    def from_timm(
        cls,
        model_name: str,
        *,
        pretrained: bool = True,
        checkpoint: str | Path | None = None,
        **options: Any,
    ) -> "FrozenEncoder":
        """The blocks (and input norm) of a timm model by name, e.g. ``vit_base_patch16_clip_224.laion2b``.

        With ``checkpoint`` (a local file of that model) nothing is fetched; without it timm's
        own pretrained mechanism and cache are used, because a pretrained model was asked for
        by name. ``pretrained=False`` gives the same architecture, randomly initialised.
        """
        from .encoder_timm import load_timm

        return load_timm(model_name, pretrained=pretrained, checkpoint=checkpoint, **options)

    @classmethod
    def from_bert(cls, path: str | Path, *, random_init: bool = False, seed: int = 0) -> "FrozenEncoder":
        """The post-LN blocks of a BERT-family Hugging Face folder (``config.json`` + weights),
        with the embeddings' LayerNorm as the frozen input norm; nothing is fetched."""
        from .encoder_bert import load_bert

        return load_bert(path, random_init=random_init, seed=seed)

    @classmethod
    def load(
        cls, path: str | Path, num_heads: int | None = None, dtype: torch.dtype = torch.float32
    ) -> "FrozenEncoder":
        """Load blocks from the official .pth, a timm ViT state_dict, metaframe safetensors or a
        CTranslate2 Whisper ``model.bin``.

        Width and depth come from the tensors' shapes. The head count is never guessed: it
        comes from the argument, the file's metadata, or a preset of exactly this shape (the
        official B/16 and L/14 are presets); otherwise ``num_heads`` is required. Keys are
        checked strictly (missing, unexpected, mis-shaped and non-floating-point tensors are
        named), NaN or ±inf weights are refused. LayerNorm eps is 1e-5 (CLIP / the official
        files) except for timm ViT state_dicts (timm uses 1e-6). The identity's sha256 is always
        computed from the tensors loaded, never taken from the file; a metaframe file's declared
        sha256 is verified against the tensors as read, whatever ``dtype`` they are cast to.
        """
        weights = read_encoder_file(path)
        embed_dim, depth, mlp_ratio = infer_shape(weights.state_dict, path)
        declared_heads = int(weights.metadata.get("num_heads", 0))
        if num_heads and declared_heads and num_heads != declared_heads:
            raise CheckpointError(f"{path}: the file declares num_heads={declared_heads}, but num_heads={num_heads} was given")
        heads = num_heads or declared_heads or _preset_heads(embed_dim, depth, mlp_ratio)
        if not heads:
            raise CheckpointError(
                f"{path}: cannot tell the number of attention heads of {depth} blocks of width {embed_dim} "
                f"from the file; pass num_heads (Python: FrozenEncoder.load(path, num_heads=N); config: "
                f"encoder.num_heads; CLI: --num-heads)"
            )
        preset = weights.metadata.get("preset") or None
        if preset is not None and preset in PRESETS and preset != match_preset(embed_dim, depth, heads, mlp_ratio):
            preset = None
        default_eps = 1e-6 if weights.source_format == "timm-vit" else 1e-5
        norm_eps = float(weights.metadata.get("norm_eps", default_eps))
        state = dict(weights.state_dict)
        pre = {k.removeprefix(NORM_PRE_PREFIX): state.pop(k) for k in list(state) if k.startswith(NORM_PRE_PREFIX)}
        with torch.device("meta"):
            norm_pre = nn.LayerNorm(embed_dim, eps=norm_eps) if pre else None
            encoder = cls(
                embed_dim, depth, heads, mlp_ratio, preset=preset, norm_eps=norm_eps, norm_pre=norm_pre,
                source=weights.metadata.get("source") or Path(path).name,
            )
        expected = {k: v.shape for k, v in encoder.blocks.state_dict().items()}
        expected.update({NORM_PRE_PREFIX + k: v.shape for k, v in encoder.norm_pre.state_dict().items()})
        found = {**state, **{NORM_PRE_PREFIX + k: v for k, v in pre.items()}}
        diff = key_diff(expected, found)
        if diff:
            indices = block_indices(state)
            gap = f"; blocks found: {index_ranges(indices)}" if indices and indices[-1] >= depth else ""
            raise CheckpointError(
                f"{path}: the weights do not match {depth} ViT blocks of width {embed_dim} "
                f"({weights.source_format} layout{gap}):\n{diff}"
            )
        bad = non_finite(found)
        if bad:
            raise CheckpointError(f"{path}: weights hold NaN or inf values in {bad}; the file is corrupt or was tampered with")
        declared = weights.metadata.get("sha256")
        # the module's key order, as weights_sha256; without a declared hash, computed when first asked
        as_read = tensors_sha256((k, found[k]) for k in expected) if declared else None
        if declared and as_read != declared:
            raise CheckpointError(
                f"{path}: the weights' sha256 is {as_read[:16]}…, but the file declares "
                f"{declared[:16]}…: the tensors were changed after the file was written"
            )
        cast = lambda d: {k: v.to(dtype) for k, v in d.items()}  # noqa: E731 - all floating point (checked above)
        encoder.blocks.load_state_dict(cast(state), strict=True, assign=True)
        if pre:
            encoder.norm_pre.load_state_dict(cast(pre), strict=True, assign=True)
        encoder.requires_grad_(False)
        if as_read is not None and all(v.dtype == dtype for v in found.values()):  # nothing cast: read = loaded
            encoder._sha256 = as_read
        return encoder

    # -- behaviour -----------------------------------------------------------------------
    def train(self, mode: bool = True) -> "FrozenEncoder":
        """Stay in eval mode whatever is asked: the encoder is frozen (dropout, norms)."""
        return super().train(False)

    def forward(
        self,
        tokens: torch.Tensor,
        mask: torch.Tensor | None = None,
        *,
        before_block: BlockHook | None = None,
        token_merging: "TokenMerging | None" = None,
    ) -> torch.Tensor:
        """``tokens`` ``[B, N, D]``, ``mask`` ``[B, N]`` (True = real) → ``[B, N, D]``.

        Padded keys are masked out of attention, so real tokens' outputs do not depend on
        how much padding the batch carries. ``before_block(i, x)`` returns block ``i``'s input
        (same shape): the one place a run changes what enters each frozen block (deep prompts,
        positions added before every block) without touching the shared weights.
        ``token_merging`` merges tokens inside the blocks and unmerges after the last one
        (``metaframe.merging``); the output keeps the input's shape.
        """
        if tokens.dim() != 3 or tokens.shape[-1] != self.embed_dim:
            raise ValueError(f"expected tokens [batch, tokens, {self.embed_dim}], got {tuple(tokens.shape)}")
        if token_merging is not None and token_merging.active:
            from .merging import TokenMergingError, merged_forward

            if before_block is not None:
                raise TokenMergingError(
                    "encoder.token_merging: cannot be combined with per-block hooks (deep prompts, per-block "
                    "positions): merging moves the positions the hooks edit; switch one of them off"
                )
            return merged_forward(
                self.blocks, self.norm_pre(tokens), mask, token_merging, gradient_checkpointing=self.gradient_checkpointing
            )
        attn_mask = None
        # an all-real mask is skipped (the unmasked kernels are faster); a graph being traced for
        # export cannot branch on data, and applying an all-true mask gives the same attention
        if mask is not None and (torch.compiler.is_compiling() or not bool(mask.all())):
            attn_mask = mask[:, None, None, :].to(torch.bool)
        x = self.norm_pre(tokens)
        for index, block in enumerate(self.blocks):
            if before_block is not None:
                x = before_block(index, x)
            if self.gradient_checkpointing and torch.is_grad_enabled() and x.requires_grad:
                x = checkpoint(block, x, attn_mask, use_reentrant=False)
            else:
                x = block(x, attn_mask=attn_mask)
        return x

    # -- identity and saving -------------------------------------------------------------
    def _frozen_state(self) -> dict[str, torch.Tensor]:
        """The blocks in official key layout, plus ``norm_pre.*`` when the model has one."""
        state = dict(self.blocks.state_dict())
        state.update({NORM_PRE_PREFIX + k: v for k, v in self.norm_pre.state_dict().items()})
        return state

    def weights_sha256(self) -> str:
        """sha256 over the frozen tensors in key order (independent of file format)."""
        if self._sha256 is None:
            self._sha256 = tensors_sha256(self._frozen_state().items())
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
            self.backend,
            self.source,
        )

    def save(self, path: str | Path) -> EncoderIdentity:
        """Write safetensors in the official key layout with metadata (atomic).

        Only ViT-block encoders (the ``vit`` backend, timm ViTs, converted Whisper blocks) have
        that layout; other backends are loaded from their own files each time.
        """
        from safetensors.torch import save_file

        if not all(_is_plain_vit_block(b) for b in self.blocks):
            raise CheckpointError(
                f"save(): the {self.backend!r} encoder's blocks ({type(self.blocks[0]).__name__}) are not plain ViT "
                "blocks (GELU, no layer scale or q/k norm), so the official layout cannot describe them; "
                "load this encoder from its own files"
            )
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
            "source": identity.source,
        }
        tensors = {k: v.detach().to("cpu").contiguous() for k, v in self._frozen_state().items()}
        with atomic_path(path) as tmp:
            save_file(tensors, str(tmp), metadata=metadata)
        return identity

    def extra_repr(self) -> str:
        return (
            f"backend={self.backend}, preset={self.preset}, embed_dim={self.embed_dim}, depth={self.depth}, "
            f"num_heads={self.num_heads}, norm_eps={self.norm_eps}"
        )


def tensors_sha256(items: Iterable[tuple[str, torch.Tensor]]) -> str:
    """sha256 over ``(key, tensor)`` pairs in the order given: key, dtype, shape and raw bytes of each."""
    digest = hashlib.sha256()
    for key, tensor in items:
        t = tensor.detach().to("cpu").contiguous()
        digest.update(f"{key}:{t.dtype}:{tuple(t.shape)};".encode())
        digest.update(t.view(torch.uint8).numpy().data if t.numel() else b"")  # the buffer itself, no copy
    return digest.hexdigest()


def _is_plain_vit_block(block: nn.Module) -> bool:
    """A block the official layout describes exactly: what ``_make_block`` builds."""
    from timm.models.vision_transformer import Block

    if type(block) is not Block:
        return False
    act = getattr(block.mlp, "act", None)
    plain_act = type(act) is nn.GELU and act.approximate == "none"
    extras = (block.ls1, block.ls2, block.attn.q_norm, block.attn.k_norm, getattr(block.attn, "norm", nn.Identity()))
    return plain_act and all(isinstance(m, nn.Identity) for m in extras) and block.attn.qkv.bias is not None


def _preset_heads(embed_dim: int, depth: int, mlp_ratio: float) -> int:
    """The head count of the preset with exactly this shape (0 when none has it)."""
    for p in PRESETS.values():
        if (p.embed_dim, p.depth, p.mlp_ratio) == (embed_dim, depth, mlp_ratio):
            return p.num_heads
    return 0


def random_like(encoder: FrozenEncoder, seed: int = 0) -> FrozenEncoder:
    """A ViT-block encoder of ``encoder``'s shape, randomly initialised: the control for a pre-trained one."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        norm_pre = None if isinstance(encoder.norm_pre, nn.Identity) else nn.LayerNorm(encoder.embed_dim, eps=encoder.norm_eps)
        return FrozenEncoder(
            encoder.embed_dim, encoder.depth, encoder.num_heads, encoder.mlp_ratio, norm_eps=encoder.norm_eps,
            norm_pre=norm_pre, source=f"random(seed={seed}) shaped like {encoder.source or encoder.preset}",
        )


def build_encoder(
    preset: str = "tiny",
    checkpoint: str | Path | None = None,
    seed: int = 0,
    embed_dim: int | None = None,
    depth: int | None = None,
    num_heads: int | None = None,
    mlp_ratio: float = 4.0,
    random_init: bool = False,
) -> FrozenEncoder:
    """The ``vit`` backend's registered factory: a checkpoint, else a custom shape, else a preset.

    Shapes without a checkpoint are randomly initialised with ``seed``; ``random_init`` with a
    checkpoint gives the checkpoint's shape, randomly initialised (the control for it).
    """
    if checkpoint is not None:
        loaded = FrozenEncoder.load(checkpoint, num_heads=num_heads)
        return random_like(loaded, seed) if random_init else loaded
    if embed_dim is not None or depth is not None:
        if embed_dim is None or depth is None or num_heads is None:
            raise ValueError("a custom encoder needs embed_dim, depth and num_heads together")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return FrozenEncoder(embed_dim, depth, num_heads, mlp_ratio, source=f"random(seed={seed})")
    return FrozenEncoder.from_preset(preset, seed=seed)


__all__ = ["BLOCK_KEYS", "BlockHook", "EncoderIdentity", "FrozenEncoder", "build_encoder", "random_like"]
