"""The core's series blocks (metaframe.nn / metaframe.series): what time_series, imu and
third-party series plugins rely on."""

from __future__ import annotations

import math

import pytest
import torch

from metaframe import extras
from metaframe.nn import (
    RevIN,
    SeriesPatchTokenizer,
    check_min_length,
    extract_patches,
    patch_counts,
    sinusoidal_positions,
    undo_revin,
)
from metaframe.series import SeriesBatch
from metaframe_registry import ReadError


def _padded(lengths: list[int], channels: int = 2, seed: int = 0) -> SeriesBatch:
    g = torch.Generator().manual_seed(seed)
    t = max(lengths)
    values = torch.zeros(len(lengths), t, channels)
    for i, n in enumerate(lengths):
        values[i, :n] = torch.randn(n, channels, generator=g) * 3 + 7
    mask = torch.arange(t)[None] < torch.tensor(lengths)[:, None]
    return SeriesBatch(values, mask, torch.tensor(lengths), sources=[f"s{i}.csv" for i in range(len(lengths))])


@pytest.mark.parametrize("affine", [False, True])
def test_revin_round_trip_gives_back_the_real_steps(affine):
    batch = _padded([12, 7])
    revin = RevIN(2, affine=affine)
    if affine:
        with torch.no_grad():
            revin.weight.copy_(torch.tensor([2.0, 0.5]))
            revin.bias.copy_(torch.tensor([1.0, -3.0]))
    normed, loc, scale = revin(batch.values, batch.mask)
    assert loc.shape == scale.shape == (2, 2)
    back = undo_revin(normed, loc, scale)
    torch.testing.assert_close(back[batch.mask], batch.values[batch.mask], rtol=1e-4, atol=1e-4)
    assert (normed[~batch.mask] == 0).all(), "padding stays zero after normalisation"


def test_revin_statistics_ignore_padding():
    batch = _padded([10, 4])
    _, loc, scale = RevIN(2)(batch.values, batch.mask)
    short = batch.values[1, :4]
    torch.testing.assert_close(loc[1], short.mean(0))
    torch.testing.assert_close(scale[1], short.std(0, unbiased=False), rtol=1e-3, atol=1e-3)
    normed, _, _ = RevIN(2)(batch.values, batch.mask)
    real = normed[0]
    torch.testing.assert_close(real.mean(0), torch.zeros(2), atol=1e-5, rtol=0)


@pytest.mark.parametrize(("length", "pad_end", "expected"), [(16, True, 4), (16, False, 3), (20, True, 5), (8, True, 2), (8, False, 1)])
def test_patch_counts_follow_patchtst(length, pad_end, expected):
    # (L - patch_len) // stride + 1, plus one with the end padding
    assert int(patch_counts(torch.tensor([length]), 8, 4, pad_end)[0]) == expected
    patches, mask = extract_patches(torch.randn(1, length, 3), torch.tensor([length]), 8, 4, pad_end)
    assert patches.shape == (1, expected, 3, 8) and mask.all()


def test_patches_hold_the_right_steps_and_never_read_padding():
    batch = _padded([12, 9], channels=1)
    patches, mask = extract_patches(batch.values, batch.lengths, patch_len=4, stride=4, pad_end=True)
    assert patches.shape == (2, 4, 1, 4)
    assert mask.tolist() == [[True, True, True, True], [True, True, True, False]]
    torch.testing.assert_close(patches[0, 1, 0], batch.values[0, 4:8, 0])
    # series 1 has 9 steps: its last real patch repeats its own step 8, never the padding zeros
    torch.testing.assert_close(patches[1, 2, 0], batch.values[1, 8, 0].expand(4))


def test_a_series_shorter_than_one_patch_names_its_source():
    batch = _padded([12, 3])
    with pytest.raises(ReadError, match=r"s1\.csv: series has 3 steps, shorter than one patch \(patch_len=4\); use longer"):
        check_min_length(batch.lengths, 4, batch.sources)
    with pytest.raises(ReadError, match=r"<batch item 1>: .*try mode='step'"):
        check_min_length(batch.lengths, 4, hint="try mode='step'")
    check_min_length(batch.lengths, 3, batch.sources)  # long enough: no error


def test_sinusoidal_positions_are_the_transformer_table():
    pe = sinusoidal_positions(5, 6)
    assert pe.shape == (5, 6) and pe.dtype == torch.float32
    assert pe[0, 0::2].abs().max() == 0 and (pe[0, 1::2] == 1).all()
    assert math.isclose(float(pe[3, 2]), math.sin(3 / 10000 ** (2 / 6)), rel_tol=1e-5)
    assert math.isclose(float(pe[3, 3]), math.cos(3 / 10000 ** (2 / 6)), rel_tol=1e-5)
    torch.testing.assert_close(sinusoidal_positions(3, 6), pe[:3], msg="a shorter table is a prefix")


def test_series_patch_tokens_are_channel_major_and_mask_padding():
    batch = _padded([12, 8])
    tokenizer = SeriesPatchTokenizer(16, in_channels=2, patch_len=4, stride=4).eval()
    tb = tokenizer(batch)
    n = 4  # patches of the longest series (12 steps, pad_end)
    assert tb.tokens.shape == (2, 2 * n, 16)
    assert tb.extras[extras.TOKEN_CHANNEL][0].tolist() == [0] * n + [1] * n
    assert tb.mask[1].tolist() == [True, True, True, False] * 2
    assert (tb.tokens[~tb.mask] == 0).all()
    assert tb.extras[extras.LENGTHS].tolist() == [12, 8]
    assert tb.extras[extras.REVIN_LOC].shape == tb.extras[extras.REVIN_SCALE].shape == (2, 2)
    alone = tokenizer(SeriesBatch(batch.values[1:, :8], batch.mask[1:, :8], batch.lengths[1:]))
    torch.testing.assert_close(alone.tokens[0], tb.tokens[1, [0, 1, 2, 4, 5, 6]])  # padding-invariant


def test_series_patch_tokenizer_refuses_other_inputs_by_name():
    tokenizer = SeriesPatchTokenizer(8, in_channels=2, patch_len=4, stride=4)
    with pytest.raises(ValueError, match="series have 3 channels, this tokenizer was built with in_channels=2"):
        tokenizer(SeriesBatch.full(torch.randn(1, 8, 3)))
    with pytest.raises(TypeError, match="expected a metaframe.series.SeriesBatch, got Tensor"):
        tokenizer(torch.randn(1, 8, 2))
    with pytest.raises(ReadError, match=r"<batch item 0>: series has 3 steps"):
        tokenizer(SeriesBatch.full(torch.randn(1, 3, 2)))


def test_series_batch_checks_shapes_and_moves_with_to():
    batch = SeriesBatch.full(torch.arange(12).reshape(1, 6, 2))
    assert batch.values.dtype == torch.float32 and batch.mask.all() and batch.lengths.tolist() == [6]
    assert len(batch) == 1 and batch.source(0) == "<batch item 0>"
    moved = batch.to("cpu")
    assert isinstance(moved, SeriesBatch) and moved is not batch and torch.equal(moved.values, batch.values)
    with pytest.raises(ValueError, match=r"SeriesBatch.mask must be \[batch, steps\] = \(1, 6\), got \(1, 5\)"):
        SeriesBatch(batch.values, batch.mask[:, :5], batch.lengths)
    with pytest.raises(ValueError, match="SeriesBatch.values must be"):
        SeriesBatch(torch.zeros(6, 2), torch.ones(6, dtype=torch.bool), torch.tensor([6]))
