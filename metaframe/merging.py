"""Token merging (ToMe, Bolya et al. 2023) inside the frozen encoder: fewer tokens, same weights.

Each merging block runs its attention, then merges ``r`` tokens by bipartite soft matching on
the attention keys (tokens alternate between sets A and B in sequence order; every A token
proposes its most similar B token by cosine similarity of the keys averaged over heads; the
``r`` best proposals are merged as size-weighted averages). Token sizes are tracked and added
as ``log(size)`` to the attention logits (proportional attention), so a merged token counts
as many as it stands for. After the last block every original position takes its merged
token's output back (ToMe's "unmerge"), so the encoder's output keeps its shape, segments and
mask and every head works unchanged; a mean over the unmerged tokens of a segment equals the
size-weighted mean over the merged ones.

Mask-aware: [CLS] (position 0) is never merged away, a padded token is never merged with a
real one, and after every merge the real tokens are put back in sequence order ahead of the
padding, so real tokens' outputs do not depend on how much padding the batch carries. ``r`` is
capped per block to what every sample of the batch can merge (half its tokens, real with real
and padding with padding). The encoder's parameters are untouched: merging is switched on for
any run, trained or not (``model.token_merging = TokenMerging(r=8)``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

OPTION = "encoder.token_merging"


class TokenMergingError(ValueError):
    """Token merging asked for where it cannot work (a block type, a per-block hook)."""


SCHEDULES = ("constant", "decreasing")


@dataclass(frozen=True)
class TokenMerging:
    """How many tokens each block merges: ``r`` per block, a total ``ratio`` of the input, or a list.

    ``ratio`` (in [0, 1)) is the fraction of the input tokens merged away over the whole
    encoder. ``schedule`` spreads the total (``r`` × depth, or the ratio's) over the blocks:
    ``constant`` evenly (the first blocks take the remainder), ``decreasing`` in proportion to
    depth, depth − 1, …, 1 (the first block about twice the mean, the last about none: merging
    early is what shortens the later blocks, the only way past ~2× fewer FLOPs, since the first
    block always sees every token). ``r`` as a tuple gives each block's count itself. Each block
    merges at most half its tokens, so a high total on few blocks falls short. ``r = 0`` (and
    ``ratio = 0``) is the plain encoder, bitwise.
    """

    r: int | tuple[int, ...] = 0
    ratio: float | None = None
    schedule: str = "constant"

    def __post_init__(self) -> None:
        if isinstance(self.r, (list, tuple)):
            bad = [v for v in self.r if isinstance(v, bool) or not isinstance(v, int) or v < 0]
            if bad or not self.r:
                raise ValueError(f"{OPTION}.r: expected one integer >= 0 per block, got {list(self.r)!r}")
            object.__setattr__(self, "r", tuple(self.r))
            if self.schedule != "constant":
                raise ValueError(f"{OPTION}: r lists every block's count; leave schedule out (got {self.schedule!r})")
        elif isinstance(self.r, bool) or not isinstance(self.r, int) or self.r < 0:
            raise ValueError(f"{OPTION}.r: expected an integer >= 0 or a list of them, got {self.r!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"{OPTION}.schedule: expected one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        if self.ratio is not None:
            if not 0.0 <= float(self.ratio) < 1.0:
                raise ValueError(f"{OPTION}.ratio: expected a fraction in [0, 1), got {self.ratio!r}")
            if self.r:
                raise ValueError(f"{OPTION}: give r or ratio, not both (got r={self.r}, ratio={self.ratio})")

    @property
    def active(self) -> bool:
        return any(self.r) if isinstance(self.r, tuple) else bool(self.r) or bool(self.ratio)

    def per_block(self, num_tokens: int, depth: int) -> list[int]:
        """Tokens merged by each of ``depth`` blocks on a sequence of ``num_tokens`` (with [CLS])."""
        if isinstance(self.r, tuple):
            if len(self.r) != depth:
                raise TokenMergingError(f"{OPTION}.r: {len(self.r)} per-block counts for an encoder of {depth} "
                                        "blocks; give one per block")
            return list(self.r)
        if self.ratio is None:
            total = self.r * depth
        else:
            total = math.floor(float(self.ratio) * max(num_tokens - 1, 0))
        weights = [1] * depth if self.schedule == "constant" else [depth - i for i in range(depth)]
        return _spread(total, weights)

    def describe(self) -> str:
        r = list(self.r) if isinstance(self.r, tuple) else self.r
        what = f"ratio={self.ratio}" if self.ratio is not None else f"r={r}"
        return what if self.schedule == "constant" else f"{what}, schedule={self.schedule}"


def _spread(total: int, weights: Sequence[int]) -> list[int]:
    """``total`` split in proportion to ``weights``, whole numbers summing to ``total``: each block its floor, then one
    more to the blocks with the largest remainders (the earliest first)."""
    whole = sum(weights)
    if whole <= 0:
        return [0] * len(weights)
    base = [total * w // whole for w in weights]
    rest = [total * w - b * whole for w, b in zip(weights, base)]  # remainders, scaled by ``whole``: exact integers
    for i in sorted(range(len(weights)), key=lambda i: -rest[i])[: total - sum(base)]:
        base[i] += 1
    return base


def as_token_merging(value: Any) -> TokenMerging | None:
    """``None`` / ``TokenMerging`` / an int r / a mapping ``{r: 8}``, ``{ratio: 0.5, schedule: decreasing}``,
    ``{r: [..one per block..]}`` → TokenMerging."""
    if value is None or isinstance(value, TokenMerging):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return TokenMerging(r=value)
    if hasattr(value, "model_dump"):  # the config's pydantic model
        value = value.model_dump()
    if isinstance(value, dict):
        r = value.get("r")
        return TokenMerging(r=tuple(r) if isinstance(r, (list, tuple)) else int(r or 0), ratio=value.get("ratio"),
                            schedule=value.get("schedule") or "constant")
    raise TypeError(f"{OPTION}: expected TokenMerging, an int r or {{r: N}} / {{ratio: F}}, got {type(value).__name__}")


# -- which blocks can merge ----------------------------------------------------------------
def check_mergeable(blocks: Sequence[nn.Module]) -> None:
    """timm ViT ``Block``s with timm's ``Attention`` merge; any other block type is refused."""
    from timm.layers import Attention
    from timm.models.vision_transformer import Block

    for index, block in enumerate(blocks):
        attn = getattr(block, "attn", None)
        plain = type(block).forward is Block.forward and isinstance(block, Block)
        if not plain or type(attn).forward is not Attention.forward or getattr(attn, "gate", None) is not None:
            kind = f"{type(block).__name__} (attention {type(attn).__name__})" if attn is not None else type(block).__name__
            raise TokenMergingError(
                f"{OPTION}: block {index} is a {kind}; token merging works only with timm ViT Block/Attention "
                "blocks; remove encoder.token_merging for this encoder"
            )


# -- counting --------------------------------------------------------------------------------
def merged_token_counts(num_tokens: int, depth: int, merging: TokenMerging | None) -> list[tuple[int, int]]:
    """``(tokens into the attention, tokens into the MLP)`` of each block, one sample without padding."""
    counts, n = [], num_tokens
    for r in (merging.per_block(num_tokens, depth) if merging else [0] * depth):
        after = n - min(r, _cap(n))
        counts.append((n, after))
        n = after
    return counts


def encoder_flops(num_tokens: int, embed_dim: int, depth: int, mlp_ratio: float, merging: TokenMerging | None) -> float:
    """Analytic FLOPs (2 × multiply-adds) of the encoder on one sequence: qkv, attention and proj on
    the tokens entering each block, the MLP on the tokens left after its merge."""
    d, h = embed_dim, int(embed_dim * mlp_ratio)
    total = 0.0
    for n_in, n_out in merged_token_counts(num_tokens, depth, merging):
        total += 2.0 * (4 * n_in * d * d + 2 * n_in * n_in * d + 2 * n_out * d * h)
    return total


def _cap(n: int) -> int:
    """At most every A token but [CLS] merges: A holds positions 0, 2, 4, …"""
    return max((n + 1) // 2 - 1, 0)


# -- the merging forward -----------------------------------------------------------------------
@dataclass
class _State:
    x: torch.Tensor  # [B, N, D]
    size: torch.Tensor  # [B, N] how many original tokens each token stands for
    mask: torch.Tensor  # [B, N] True = real
    origin: torch.Tensor  # [B, N0] the current index of every original token


def merged_forward(
    blocks: Sequence[nn.Module], x: torch.Tensor, mask: torch.Tensor | None, merging: TokenMerging,
    *, gradient_checkpointing: bool = False,
) -> torch.Tensor:
    """``x`` ``[B, N, D]`` through ``blocks`` with token merging; returns ``[B, N, D]`` (unmerged)."""
    check_mergeable(blocks)
    batch, n0, _ = x.shape
    if mask is None:
        mask = torch.ones(batch, n0, dtype=torch.bool, device=x.device)
    mask = mask.to(torch.bool)
    # real tokens first, in sequence order: a sample is split into A/B as it would be without padding
    positions = torch.arange(n0, device=x.device).expand(batch, n0)
    order = torch.where(mask, positions, n0 + positions).argsort(dim=1)
    origin = torch.empty(batch, n0, dtype=torch.long, device=x.device).scatter_(1, order, positions)
    state = _State(
        x.gather(1, order[..., None].expand(-1, -1, x.shape[-1])),
        torch.ones(batch, n0, dtype=x.dtype, device=x.device),
        mask.gather(1, order),
        origin,
    )
    for block, r in zip(blocks, merging.per_block(n0, len(blocks))):
        if gradient_checkpointing and torch.is_grad_enabled() and state.x.requires_grad:
            state = checkpoint(_merging_block, block, state, r, use_reentrant=False)
        else:
            state = _merging_block(block, state, r)
    return state.x.gather(1, state.origin[..., None].expand(-1, -1, state.x.shape[-1]))


def _merging_block(block: nn.Module, s: _State, r: int) -> _State:
    """One timm ``Block``: proportional attention, merge ``r`` tokens, then the MLP on fewer tokens."""
    attn_out, keys = _attention(block.attn, block.norm1(s.x), s.size, s.mask, s.x.shape[1] < s.origin.shape[1])
    x = s.x + block.drop_path1(block.ls1(attn_out))
    s = _merge(_State(x, s.size, s.mask, s.origin), keys, r)
    x = s.x + block.drop_path2(block.ls2(block.mlp(block.norm2(s.x))))
    return _State(x, s.size, s.mask, s.origin)


def _attention(
    attn: nn.Module, x: torch.Tensor, size: torch.Tensor, mask: torch.Tensor, merged: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """timm ``Attention`` with ``log(size)`` added to the logits and padded keys masked; also the keys' mean over heads."""
    b, n, _ = x.shape
    qkv = attn.qkv(x).reshape(b, n, 3, attn.num_heads, attn.head_dim).permute(2, 0, 3, 1, 4)
    q, k, v = qkv.unbind(0)
    q, k = attn.q_norm(q), attn.k_norm(k)
    bias = None
    if merged or not bool(mask.all()):  # until the first merge with no padding, the plain (fastest) kernel
        bias = size.log().masked_fill(~mask, float("-inf"))[:, None, None, :].to(q.dtype)
    p = attn.attn_drop.p if attn.training else 0.0
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=p)
    out = attn.norm(out.transpose(1, 2).reshape(b, n, attn.attn_dim))
    return attn.proj_drop(attn.proj(out)), k.mean(dim=1)


def _merge(s: _State, keys: torch.Tensor, r: int) -> _State:
    """Bipartite soft matching: the ``r`` A tokens most similar to a B token are averaged into it."""
    b, n, d = s.x.shape
    r = min(r, _cap(n))
    if r <= 0:
        return s
    with torch.no_grad():
        metric = F.normalize(keys.float(), dim=-1)
        scores = metric[:, ::2] @ metric[:, 1::2].transpose(1, 2)  # [B, Na, Nb], cosine in [-1, 1]
        if not bool(s.mask.all()):
            a_real, b_real = s.mask[:, ::2, None], s.mask[:, None, 1::2]
            # real-real pairs rank first, padding-padding pairs after them, mixed pairs never
            scores.masked_fill_(~a_real & ~b_real, -3.0).masked_fill_(a_real != b_real, float("-inf"))
        scores[:, 0, :] = float("-inf")  # [CLS] is A's first token
        best, dst_b = scores.max(dim=-1)  # [B, Na]
        r = min(r, int(torch.isfinite(best).sum(dim=1).min()))
        if r <= 0:
            return s
        order = best.argsort(dim=-1, descending=True, stable=True)
        src_a = order[:, :r]
        src = src_a * 2  # positions in the sequence
        dst = dst_b.gather(1, src_a) * 2 + 1
        removed = torch.zeros(b, n, dtype=torch.bool, device=s.x.device).scatter_(1, src, True)
        positions = torch.arange(n, device=s.x.device).expand(b, n)
        # kept tokens in sequence order, real ones first: the next split sees what a padding-free batch sees
        key = torch.where(removed, 2 * n + positions, torch.where(s.mask, positions, n + positions))
        keep = key.argsort(dim=1)[:, : n - r]
        kept_at = torch.arange(n - r, device=s.x.device).expand(b, n - r)
        new_index = torch.empty(b, n, dtype=torch.long, device=s.x.device).scatter_(1, keep, kept_at)
        new_index = new_index.scatter(1, src, new_index.gather(1, dst))  # a merged token goes where its B token goes
        origin = new_index.gather(1, s.origin)
    size = s.size.scatter_add(1, dst, s.size.gather(1, src))
    weighted = s.x * s.size[..., None]
    weighted = weighted.scatter_add(1, dst[..., None].expand(-1, -1, d), weighted.gather(1, src[..., None].expand(-1, -1, d)))
    x = weighted.gather(1, keep[..., None].expand(-1, -1, d)) / size.gather(1, keep)[..., None]
    return _State(x, size.gather(1, keep), s.mask.gather(1, keep), origin)


def active_merging(value: Any, encoder: nn.Module, *, hooks: int = 0) -> TokenMerging | None:
    """A model's ``token_merging`` when it merges anything; refused for encoders without ViT blocks
    and next to per-block hooks (merging moves the positions a hook edits)."""
    from .encoder import FrozenEncoder

    merging = as_token_merging(value)
    if merging is None or not merging.active:
        return None
    if hooks:
        raise TokenMergingError(
            f"{OPTION}: cannot be combined with this run's {hooks} per-block hook(s) (deep prompts, per-block "
            "positions): merging moves the positions the hooks edit; switch one of them off"
        )
    if not isinstance(encoder, FrozenEncoder):
        raise TokenMergingError(
            f"{OPTION}: the {type(encoder).__name__} encoder has no ViT blocks to merge tokens in; "
            f"remove {OPTION} for this encoder"
        )
    return merging


__all__ = [
    "TokenMerging",
    "TokenMergingError",
    "active_merging",
    "as_token_merging",
    "check_mergeable",
    "encoder_flops",
    "merged_forward",
    "merged_token_counts",
]
