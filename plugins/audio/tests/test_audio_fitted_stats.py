"""Normalisation statistics fitted on training clips (``fit_stats=True``), through the registry."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import metaframe
from metaframe.protocols import is_fittable
from metaframe_audio import kaldi_fbank

SR = 16000
SMALL = dict(num_mel_bins=32, target_length=100)


@pytest.fixture(scope="module")
def audio() -> metaframe.Modality:
    return metaframe.get_modality("audio")


def _clips(audio, seconds=(0.4, 0.7, 1.3)):
    rng = np.random.default_rng(5)
    return [audio.read(((0.2 * rng.standard_normal(int(s * SR))).astype(np.float32), SR)) for s in seconds]


def test_fixed_statistics_tokenizer_is_not_fittable(audio) -> None:
    tokenizer = audio.build_tokenizer(embed_dim=16, **SMALL)
    assert not is_fittable(tokenizer)  # metaframe will not read the training set to fit it


def test_fit_computes_mean_and_std_of_real_frames(audio) -> None:
    tokenizer = audio.build_tokenizer(embed_dim=16, fit_stats=True, fit_batch_size=2, **SMALL)
    assert is_fittable(tokenizer)
    clips = _clips(audio)
    tokenizer.fit(iter(clips))  # the engine streams: a one-pass iterator is enough
    feats = torch.cat([
        kaldi_fbank((c.waveform - c.waveform.mean())[None], htk_compat=True, window_type="hanning",
                    num_mel_bins=32, sample_frequency=SR)
        for c in clips
    ]).double()
    assert tokenizer.mean == pytest.approx(float(feats.mean()), abs=1e-6)
    assert tokenizer.std == pytest.approx(float(feats.std(unbiased=False)), abs=1e-6)
    normalised, frames = tokenizer.eval().filterbank(metaframe.get_modality("audio").collate(clips[:1]))
    real = normalised[0, : int(frames[0])]
    assert abs(float(real.mean())) < 0.2  # each clip is near the fitted statistics


def test_fitted_state_round_trips_through_json(audio) -> None:
    fitted = audio.build_tokenizer(embed_dim=16, fit_stats=True, **SMALL)
    fitted.fit(_clips(audio))
    state = json.loads(json.dumps(fitted.fitted_state()))
    fresh = audio.build_tokenizer(embed_dim=16, fit_stats=True, **SMALL)
    fresh.load_fitted_state(state)
    fresh.load_state_dict(fitted.state_dict())
    batch = audio.collate(_clips(audio, (0.5, 0.9)))
    assert torch.equal(fresh.eval()(batch).tokens, fitted.eval()(batch).tokens)
    with pytest.raises(ValueError, match="lacks \\['std'\\]"):
        fresh.load_fitted_state({"mean": 1.0})
    with pytest.raises(ValueError, match="zero clips"):
        fresh.fit([])
