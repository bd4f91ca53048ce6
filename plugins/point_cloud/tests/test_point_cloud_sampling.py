"""FPS and kNN against brute-force references written from the definitions."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

import metaframe_point_cloud as pc


def fps_reference(xyz: torch.Tensor, n: int, start: int = 0, real: int | None = None) -> list[int]:
    """One cloud: first index ``start``; then the farthest point from the chosen set, lowest index on ties."""
    pts = xyz.double().tolist()[: real if real is not None else len(xyz)]
    chosen = [start]
    best = [float("inf")] * len(pts)
    for _ in range(n - 1):
        c = pts[chosen[-1]]
        for j, p in enumerate(pts):
            best[j] = min(best[j], (p[0] - c[0]) ** 2 + (p[1] - c[1]) ** 2 + (p[2] - c[2]) ** 2)
        top = max(best)
        chosen.append(best.index(top))  # list.index: lowest index among ties
    return chosen


def knn_reference(xyz: torch.Tensor, center: list[float], k: int, real: int | None = None) -> list[int]:
    pts = xyz.double().tolist()[: real if real is not None else len(xyz)]
    d = [((p[0] - center[0]) ** 2 + (p[1] - center[1]) ** 2 + (p[2] - center[2]) ** 2, j) for j, p in enumerate(pts)]
    return [j for _, j in sorted(d)[:k]]  # nearest first, lower index first on ties


METHODS = ["dense", "bucketed"]


@pytest.mark.parametrize("method", METHODS)
def test_fps_matches_brute_force_on_random_clouds(method):
    xyz = torch.rand(3, 150, 3, generator=torch.Generator().manual_seed(1))
    out = pc.farthest_point_sample(xyz, 20, method=method)
    assert out.dtype == torch.int64 and out.shape == (3, 20)
    for b in range(3):
        assert out[b].tolist() == fps_reference(xyz[b], 20)


@pytest.mark.parametrize("method", METHODS)
def test_fps_breaks_ties_by_lowest_index_on_a_grid(method):
    # integer grid: many exactly equal distances, exact in float32
    g = torch.arange(4.0)
    xyz = torch.cartesian_prod(g, g, g)[None]  # 64 points
    out = pc.farthest_point_sample(xyz, 30, method=method)
    assert out[0].tolist() == fps_reference(xyz[0], 30)
    assert out[0, :2].tolist() == [0, 63]  # farthest corner from (0,0,0)


@pytest.mark.parametrize("method", METHODS)
def test_fps_never_picks_padding_and_matches_unpadded(method):
    gen = torch.Generator().manual_seed(2)
    xyz = torch.rand(2, 60, 3, generator=gen)
    xyz[1, 40:] = 100.0  # far-away padding would be chosen first if it were not masked
    mask = torch.ones(2, 60, dtype=torch.bool)
    mask[1, 40:] = False
    out = pc.farthest_point_sample(xyz, 12, mask=mask, method=method)
    assert out[1].tolist() == fps_reference(xyz[1], 12, real=40)
    assert out[1].max() < 40
    assert out[0].tolist() == fps_reference(xyz[0], 12)


def test_fps_left_padding_starts_at_first_real_point():
    xyz = torch.rand(1, 20, 3)
    mask = torch.zeros(1, 20, dtype=torch.bool)
    mask[0, 5:] = True
    out = pc.farthest_point_sample(xyz, 6, mask=mask)
    assert out[0, 0] == 5 and bool(mask[0, out[0]].all())


def test_fps_random_start_is_seeded_and_start_argument_respected():
    xyz = torch.rand(4, 50, 3)
    a = pc.farthest_point_sample(xyz, 8, start="random", generator=torch.Generator().manual_seed(0))
    b = pc.farthest_point_sample(xyz, 8, start="random", generator=torch.Generator().manual_seed(0))
    assert torch.equal(a, b)
    for i in range(4):
        assert a[i].tolist() == fps_reference(xyz[i], 8, start=int(a[i, 0]))
    s1 = pc.farthest_point_sample(xyz, 8, seed=3)
    assert torch.equal(s1, pc.farthest_point_sample(xyz, 8, seed=3))
    assert s1[0].tolist() == fps_reference(xyz[0], 8, start=int(s1[0, 0]))
    c = pc.farthest_point_sample(xyz, 8, start=7)
    assert c[:, 0].tolist() == [7] * 4 and c[2].tolist() == fps_reference(xyz[2], 8, start=7)


def test_bucketed_fps_equals_dense_on_larger_clouds_with_padding_and_repeats():
    gen = torch.Generator().manual_seed(5)
    xyz = torch.randn(3, 700, 3, generator=gen)
    xyz[1] = torch.round(xyz[1] * 2)  # many exact ties
    mask = torch.ones(3, 700, dtype=torch.bool)
    mask[2, 500:] = False
    start = torch.tensor([0, 17, 499])
    dense = pc.farthest_point_sample(xyz, 520, mask=mask, start=start, method="dense", allow_repeats=True)
    bucketed = pc.farthest_point_sample(xyz, 520, mask=mask, start=start, method="bucketed", allow_repeats=True)
    assert torch.equal(dense, bucketed)
    assert bucketed[2].max() < 500
    assert bucketed[0, :60].tolist() == fps_reference(xyz[0], 60)


def test_fps_refuses_more_samples_than_points():
    with pytest.raises(ValueError, match="fewer than n_samples=10"):
        pc.farthest_point_sample(torch.rand(1, 5, 3), 10)
    out = pc.farthest_point_sample(torch.rand(1, 5, 3), 8, allow_repeats=True)
    assert sorted(out[0, :5].tolist()) == [0, 1, 2, 3, 4]


def test_knn_matches_brute_force_nearest_first():
    gen = torch.Generator().manual_seed(3)
    xyz = torch.rand(2, 80, 3, generator=gen)
    centers = xyz[:, :7]
    out = pc.knn(xyz, centers, 5)
    assert out.shape == (2, 7, 5) and out.dtype == torch.int64
    for b in range(2):
        for m in range(7):
            assert out[b, m].tolist() == knn_reference(xyz[b], centers[b, m].tolist(), 5)


def test_knn_chunks_give_the_same_answer_and_respect_masks_and_ties():
    g = torch.arange(3.0)
    grid = torch.cartesian_prod(g, g, g)  # 27 points, many equal distances
    xyz = torch.stack([grid, grid.flip(0)])
    mask = torch.ones(2, 27, dtype=torch.bool)
    mask[1, 20:] = False
    centers = torch.tensor([[[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]] * 2)
    whole = pc.knn(xyz, centers, 7, mask=mask)
    chunked = pc.knn(xyz, centers, 7, mask=mask, max_bytes=1)  # one centre per chunk
    assert torch.equal(whole, chunked)
    for m in range(2):
        assert whole[0, m].tolist() == knn_reference(xyz[0], centers[0, m].tolist(), 7)
        assert whole[1, m].tolist() == knn_reference(xyz[1], centers[1, m].tolist(), 7, real=20)


def test_knn_refuses_k_larger_than_a_cloud():
    mask = torch.ones(2, 10, dtype=torch.bool)
    mask[1, 4:] = False
    with pytest.raises(ValueError, match="point cloud 1 of the batch has 4 points"):
        pc.knn(torch.rand(2, 10, 3), torch.rand(2, 3, 3), 5, mask=mask)


def test_entry_module_stays_torch_free():
    code = "import sys, metaframe_point_cloud as m; m.manifest(); assert 'torch' not in sys.modules; print('ok')"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
