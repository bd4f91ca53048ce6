"""Farthest point sampling and k-nearest neighbours, batched in torch.

Both are exact with respect to squared Euclidean distances computed coordinate by
coordinate ``(x - cx)^2 + (y - cy)^2 + (z - cz)^2`` in float32 (float64 inputs stay float64):
no ``|a|^2 - 2ab + |b|^2`` shortcut, whose rounding would reorder near-equal distances.
FPS loops over its ``n_samples`` iterations only; each iteration is a handful of tensor ops
over the whole batch (for large clouds on CPU: over the buckets of points it can change).
"""

from __future__ import annotations

from typing import Literal

import torch

DEFAULT_KNN_BYTES = 8 * 2**20  # small blocks stay in cache: 2.3x faster than 256 MiB blocks (measured)
BUCKETED_MIN_WORK = 2**17  # batch x points from which bucketed FPS pays for its extra ops (2-core CPU)
BUCKET = 64


def _check_xyz(xyz: torch.Tensor, name: str = "xyz") -> torch.Tensor:
    if xyz.dim() != 3 or xyz.shape[-1] != 3:
        raise ValueError(f"{name} must be [batch, points, 3], got shape {tuple(xyz.shape)}")
    if not xyz.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got {xyz.dtype}")
    return xyz if xyz.dtype in (torch.float32, torch.float64) else xyz.float()


def _check_mask(mask: torch.Tensor | None, xyz: torch.Tensor) -> torch.Tensor | None:
    if mask is None:
        return None
    if mask.shape != xyz.shape[:2] or mask.dtype != torch.bool:
        raise ValueError(f"mask must be a boolean [batch, points] = {tuple(xyz.shape[:2])}, got {mask.dtype} {tuple(mask.shape)}")
    return mask.to(xyz.device)


def farthest_point_sample(
    xyz: torch.Tensor,
    n_samples: int,
    mask: torch.Tensor | None = None,
    start: int | torch.Tensor | Literal["random"] = 0,
    generator: torch.Generator | None = None,
    allow_repeats: bool = False,
    seed: int | None = None,
    method: Literal["auto", "dense", "bucketed"] = "auto",
) -> torch.Tensor:
    """Indices ``[B, n_samples]`` (int64) of farthest point sampling on ``xyz`` ``[B, N, 3]``.

    The first index is ``start`` (0, i.e. the first real point when ``mask`` marks padding;
    an int or a ``[B]`` tensor of indices; or ``"random"``: a uniformly drawn real point, from
    ``generator`` when given, or from ``seed``: ``seed`` alone asks for a random start). Each next index is the point whose distance to the chosen set
    is largest, ties broken by the lowest index. Padding (``mask`` False) is never chosen.
    ``allow_repeats`` lets a cloud with fewer real points than ``n_samples`` repeat its first
    real point once every point is taken (the tokenizer masks those slots); otherwise that is
    an error. ``method``: ``dense`` updates every point each iteration; ``bucketed`` skips
    Morton-ordered buckets the new centre cannot change (same result, much less work for large
    clouds); ``auto`` takes ``bucketed`` on CPU from 2^17 points in the batch (32 x 4,096).
    """
    xyz = _check_xyz(xyz)
    mask = _check_mask(mask, xyz)
    b, n, _ = xyz.shape
    if n_samples < 1:
        raise ValueError(f"n_samples must be at least 1, got {n_samples}")
    counts = mask.sum(1) if mask is not None else torch.full((b,), n, device=xyz.device)
    if b and not allow_repeats and int(counts.min()) < n_samples:
        i = int(counts.argmin())
        raise ValueError(f"point cloud {i} of the batch has {int(counts[i])} points, fewer than n_samples={n_samples}")
    if b and int(counts.min()) == 0:
        raise ValueError(f"point cloud {int(counts.argmin())} of the batch has no points")
    device = xyz.device
    dist = torch.full((b, n), float("inf"), dtype=xyz.dtype, device=device)
    if mask is not None:
        dist.masked_fill_(~mask, -1.0)  # below every real distance: never the argmax
    if seed is not None:
        start, generator = "random", torch.Generator(device=device).manual_seed(seed)
    if isinstance(start, str):
        if start != "random":
            raise ValueError(f"start must be an index, a [batch] tensor or 'random', got {start!r}")
        weights = mask.to(torch.float32) if mask is not None else torch.ones(b, n, device=device)
        far = torch.multinomial(weights, 1, generator=generator).squeeze(1)
    elif isinstance(start, torch.Tensor):
        far = start.to(device=device, dtype=torch.long).reshape(b)
    else:
        if not 0 <= int(start) < n:
            raise ValueError(f"start index {start} is outside 0..{n - 1}")
        far = torch.full((b,), int(start), dtype=torch.long, device=device)
        if mask is not None:  # start index padding (left-padded clouds): take the first real point
            far = torch.where(mask[torch.arange(b, device=device), far], far, mask.to(torch.int8).argmax(1))
    if mask is not None and not bool(mask[torch.arange(b, device=device), far].all()):
        raise ValueError("start index points at padding")
    if method == "auto":
        method = "bucketed" if (device.type == "cpu" and b * n >= BUCKETED_MIN_WORK) else "dense"
    if method == "dense":
        return _fps_dense(xyz, n_samples, dist, far)
    if method == "bucketed":
        real = mask if mask is not None else torch.ones(b, n, dtype=torch.bool, device=device)
        return _fps_bucketed(xyz, n_samples, real, far)
    raise ValueError(f"method={method!r}: expected 'auto', 'dense' or 'bucketed'")


def _fps_dense(xyz: torch.Tensor, n_samples: int, dist: torch.Tensor, far: torch.Tensor) -> torch.Tensor:
    """Every iteration updates every point: a few full-batch tensor ops."""
    b, n, _ = xyz.shape
    pts = xyz.transpose(1, 2).contiguous()  # [B, 3, N]: each coordinate a contiguous plane
    diff = torch.empty_like(pts)
    d = torch.empty_like(dist)
    chosen = []
    far = far.view(b, 1, 1)
    for _ in range(n_samples):
        chosen.append(far)
        torch.sub(pts, pts.gather(2, far.expand(b, 3, 1)), out=diff)
        diff.square_()
        torch.add(diff[:, 0], diff[:, 1], out=d)
        d.add_(diff[:, 2])  # (dx^2 + dy^2) + dz^2
        torch.minimum(dist, d, out=dist)
        far = dist.max(1).indices.view(b, 1, 1)  # first maximal index on ties; 2-3x faster than argmax on CPU
    return torch.cat(chosen, 1).view(b, n_samples)


def _spread_bits(v: torch.Tensor) -> torch.Tensor:
    """10-bit integers with two zero bits after each bit (for a 30-bit Morton code)."""
    v = v & 0x3FF
    v = (v | (v << 16)) & 0x030000FF
    v = (v | (v << 8)) & 0x0300F00F
    v = (v | (v << 4)) & 0x030C30C3
    return (v | (v << 2)) & 0x09249249


def _fps_bucketed(xyz: torch.Tensor, n_samples: int, real: torch.Tensor, far: torch.Tensor) -> torch.Tensor:
    """The same result as ``_fps_dense``, touching only buckets a new centre can change.

    Points are ordered along a Morton curve and cut into buckets of ``BUCKET`` points with
    bounding boxes. A bucket whose box is farther from the new centre than its current
    largest distance cannot change (the float distance of any point in the box is at least
    the box's, computed by the same monotone operations), so it is skipped. Each bucket keeps
    its largest distance and the lowest original index reaching it, so the global choice —
    largest distance, lowest index on ties — is exactly the dense one.
    """
    b, n, _ = xyz.shape
    device, dtype = xyz.device, xyz.dtype
    size = BUCKET
    big = torch.finfo(dtype).max
    lo = xyz.masked_fill(~real[..., None], big).amin(1, keepdim=True)
    hi = xyz.masked_fill(~real[..., None], -big).amax(1, keepdim=True)
    q = ((xyz - lo) / (hi - lo).clamp_min(1e-12) * 1023).clamp(0, 1023).long()
    code = _spread_bits(q[..., 0]) | (_spread_bits(q[..., 1]) << 1) | (_spread_bits(q[..., 2]) << 2)
    order = code.masked_fill(~real, 1 << 31).argsort(1)  # padding last
    g = -(-n // size)
    order = torch.cat([order, torch.full((b, g * size - n), n, dtype=torch.long, device=device)], 1)
    order = order.view(b, g, size).sort(-1).values.view(b, g * size)  # index order within a bucket: first max = lowest index
    pts = torch.cat([xyz, xyz.new_zeros(b, 1, 3)], 1).gather(1, order[..., None].expand(-1, -1, 3)).view(b, g, size, 3)
    ok = torch.cat([real, real.new_zeros(b, 1)], 1).gather(1, order).view(b, g, size)
    planes = pts.permute(0, 1, 3, 2).reshape(b * g, 3, size).contiguous()
    original = order.view(b * g, size)
    dist = torch.where(ok, torch.inf, -1.0).to(dtype).view(b * g, size)
    box_lo = pts.masked_fill(~ok[..., None], big).amin(2)  # [B, G, 3]; an empty bucket's box is empty
    box_hi = pts.masked_fill(~ok[..., None], -big).amax(2)
    best = torch.where(ok.any(-1), torch.inf, -1.0).to(dtype)  # [B, G] largest distance per bucket
    best_index = torch.zeros(b, g, dtype=torch.long, device=device)  # lowest original index reaching it
    best_flat, best_index_flat = best.view(-1), best_index.view(-1)
    no_index = torch.iinfo(torch.long).max
    chosen = []
    for _ in range(n_samples):
        chosen.append(far)
        c = xyz.gather(1, far.view(b, 1, 1).expand(b, 1, 3)).view(b, 3)
        gap = torch.maximum(box_lo - c[:, None], c[:, None] - box_hi).clamp_min_(0).square_()
        bound = gap[..., 0] + gap[..., 1]
        bound += gap[..., 2]
        sel = (bound < best).view(-1).nonzero().squeeze(1)
        diff = (planes.index_select(0, sel) - c.index_select(0, sel // g)[:, :, None]).square_()
        d = diff[:, 0] + diff[:, 1]
        d += diff[:, 2]
        new = torch.minimum(dist.index_select(0, sel), d)
        dist.index_copy_(0, sel, new)
        top, slot = new.max(1)
        best_flat.index_copy_(0, sel, top)
        best_index_flat.index_copy_(0, sel, original.index_select(0, sel).gather(1, slot.unsqueeze(1)).squeeze(1))
        far = torch.where(best == best.amax(1, keepdim=True), best_index, no_index).amin(1)
    return torch.stack(chosen, 1)


def knn(
    xyz: torch.Tensor,
    centers: torch.Tensor,
    k: int,
    mask: torch.Tensor | None = None,
    max_bytes: int = DEFAULT_KNN_BYTES,
) -> torch.Tensor:
    """Indices ``[B, M, k]`` into ``xyz`` ``[B, N, 3]`` of each centre's ``k`` nearest points.

    Nearest first; equal distances in index order. Padding points (``mask`` False) are never
    neighbours. Centres are processed in chunks so that the distance block stays under
    ``max_bytes`` (a ``[32, 2048, 8192]`` matrix would need 2 GiB in one piece).
    """
    xyz = _check_xyz(xyz)
    centers = _check_xyz(centers, "centers").to(xyz.dtype)
    mask = _check_mask(mask, xyz)
    b, n, _ = xyz.shape
    if centers.shape[0] != b:
        raise ValueError(f"centers have batch size {centers.shape[0]}, xyz has {b}")
    counts = mask.sum(1) if mask is not None else torch.full((b,), n, device=xyz.device)
    if k < 1 or (b and int(counts.min()) < k):
        i = int(counts.argmin()) if b else 0
        raise ValueError(f"k={k} neighbours requested, but point cloud {i} of the batch has {int(counts[i]) if b else 0} points")
    m = centers.shape[1]
    # two [B, chunk, N] blocks live at once (the running sum and one coordinate's term)
    per_center = 2 * b * n * xyz.element_size()
    chunk = max(1, min(m, max_bytes // max(per_center, 1)))
    pts = xyz.transpose(1, 2).unsqueeze(2)  # [B, 3, 1, N]
    out = torch.empty(b, m, k, dtype=torch.long, device=xyz.device)
    for s in range(0, m, chunk):
        c = centers[:, s : s + chunk].transpose(1, 2).unsqueeze(-1)  # [B, 3, c, 1]
        d = (pts[:, 0] - c[:, 0]).square_()
        d.add_((pts[:, 1] - c[:, 1]).square_())
        d.add_((pts[:, 2] - c[:, 2]).square_())
        if mask is not None:
            d.masked_fill_(~mask.unsqueeze(1), float("inf"))
        values, index = d.topk(k, dim=-1, largest=False, sorted=True)
        _lowest_index_ties(d, values, index)
        # equal distances in index order: sort by index, then stably by distance
        order = index.argsort(dim=-1)
        index = index.gather(-1, order)
        values = values.gather(-1, order)
        out[:, s : s + chunk] = index.gather(-1, values.argsort(dim=-1, stable=True))
    return out


def _lowest_index_ties(d: torch.Tensor, values: torch.Tensor, index: torch.Tensor) -> None:
    """Where the k-th distance is tied beyond the top-k, redo those rows taking the lowest indices (in place)."""
    kth = values[..., -1:]
    ambiguous = (d == kth).sum(-1) > (values == kth).sum(-1)
    if not bool(ambiguous.any()):
        return
    rows = ambiguous.nonzero(as_tuple=True)
    dr, kr = d[rows], kth[rows]  # [R, N], [R, 1]
    k = values.shape[-1]
    less = dr < kr
    tied = dr == kr
    room = k - less.sum(-1, keepdim=True)
    chosen = less | (tied & (tied.cumsum(-1) <= room))
    picked = chosen.nonzero()[:, 1].reshape(-1, k)  # ascending index within each row
    order = dr.gather(-1, picked).argsort(dim=-1, stable=True)
    index[rows] = picked.gather(-1, order)
    values[rows] = dr.gather(-1, index[rows])


def gather_points(points: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``points`` ``[B, N, C]`` at ``index`` ``[B, ...]`` → ``[B, ..., C]``."""
    b, c = points.shape[0], points.shape[-1]
    flat = index.reshape(b, -1)
    out = points.gather(1, flat.unsqueeze(-1).expand(-1, -1, c))
    return out.reshape(*index.shape, c)
