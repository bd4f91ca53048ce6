"""The ``informer_decoder`` head: shapes, the decoder's start tokens, RevIN, causality, training."""

from __future__ import annotations

import pytest
import torch

import metaframe
from metaframe import extras

D = 16


@pytest.fixture(scope="module")
def encoder():
    return metaframe.FrozenEncoder(D, 2, 2)


@pytest.fixture(scope="module")
def ts():
    return metaframe.get_modality("time_series")


def _tokenizer(ts, mode="patch", **options):
    if mode == "patch":
        options = {"patch_len": 4, "stride": 4, **options}
    return ts.build_tokenizer(D, mode=mode, in_channels=3, **options)


def _model(ts, encoder, mode="patch", **head_options):
    torch.manual_seed(0)
    tokenizer = _tokenizer(ts, mode, normalize="revin")
    options = {"horizon": 5, "channels": 3, "label_len": 6, "d_model": 16, "num_heads": 2, **head_options}
    head = metaframe.build_head("informer_decoder", embed_dim=D, **options)
    return metaframe.MetaModel(encoder, {"time_series": tokenizer}, {"f": head}).eval()


def test_registered_with_the_time_series_plugin():
    assert "informer_decoder" in metaframe.list_heads()


@pytest.mark.parametrize("mode", ["patch", "step"])
def test_forecast_shape_and_revin_undone_in_data_units(ts, encoder, mode):
    model = _model(ts, encoder, mode)
    x = torch.randn(20, 3)
    with torch.no_grad():
        y = model({"time_series": ts.collate([ts.read(x), ts.read(x[:12])])})["f"]
        y_scaled = model({"time_series": ts.collate([ts.read(x * 4 + 2), ts.read(x[:12])])})["f"]
    assert y.shape == (2, 5, 3)
    torch.testing.assert_close(y_scaled[0], y[0] * 4 + 2, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("mode", ["patch", "step"])
def test_the_start_tokens_are_the_last_real_steps_of_each_series(ts, encoder, mode):
    model = _model(ts, encoder, mode, label_len=4)
    values = torch.arange(1.0, 21.0)[:, None].repeat(1, 3)
    batch = ts.collate([ts.read(values), ts.read(values[:10])])
    encoded = model.encode({"time_series": batch})
    raw_model = _model(ts, encoder, mode, label_len=4)
    raw_model.tokenizers["time_series"] = _tokenizer(ts, mode, normalize="none")
    history = raw_model.heads["f"].history(raw_model.encode({"time_series": batch}), "time_series")
    assert history[:, :, 0].tolist() == [[17, 18, 19, 20], [7, 8, 9, 10]]
    normed = model.heads["f"].history(encoded, "time_series")
    loc, scale = encoded.extras["time_series"][extras.REVIN_LOC], encoded.extras["time_series"][extras.REVIN_SCALE]
    torch.testing.assert_close(normed * scale[:, None] + loc[:, None], history)


def test_a_short_series_is_left_padded_with_zeros(ts, encoder):
    model = _model(ts, encoder, label_len=10, horizon=2)
    model.tokenizers["time_series"] = ts.build_tokenizer(D, mode="patch", in_channels=3, patch_len=4, stride=4, normalize="none")
    values = torch.arange(1.0, 9.0)[:, None].repeat(1, 3)
    history = model.heads["f"].history(model.encode({"time_series": values[None]}), "time_series")
    assert history[0, :, 0].tolist() == [0, 0, 1, 2, 3, 4, 5, 6, 7, 8]


def test_the_decoder_is_causal_over_its_start_tokens(ts, encoder):
    """Changing the last history step leaves no trace in the decoder outputs of earlier steps."""
    head = _model(ts, encoder).heads["f"]
    x = torch.randn(1, 11, 16)
    memory = torch.randn(1, 7, 16)
    causal = torch.triu(torch.ones(11, 11, dtype=torch.bool), diagonal=1)
    x2 = x.clone()
    x2[:, 8] += 5.0
    with torch.no_grad():
        a = head.decoder(x, memory, tgt_mask=causal)
        b = head.decoder(x2, memory, tgt_mask=causal)
    torch.testing.assert_close(a[:, :8], b[:, :8])
    assert not torch.allclose(a[:, 8:], b[:, 8:])


def test_without_series_values_the_error_names_the_fix(ts, encoder):
    model = _model(ts, encoder)
    encoded = model.encode({"time_series": torch.randn(1, 16, 3)})
    del encoded.extras["time_series"][extras.SERIES_VALUES]  # as from a tokenizer of another modality
    with pytest.raises(ValueError, match="needs the input series in extras\\['series_values'\\]; the time_series tokenizer writes it"):
        model.heads["f"](encoded)


@pytest.mark.parametrize("mode", ["patch", "step"])
def test_training_step_updates_tokenizer_and_decoder(ts, encoder, mode):
    model = _model(ts, encoder, mode).train()
    loss = torch.nn.functional.mse_loss(model({"time_series": torch.randn(2, 16, 3)})["f"], torch.randn(2, 5, 3))
    loss.backward()
    assert model.heads["f"].memory_proj.weight.grad.abs().sum() > 0
    assert model.heads["f"].value_embed.weight.grad.abs().sum() > 0
    weights = [p.grad for n, p in model.tokenizers["time_series"].named_parameters() if n.endswith("weight")]
    assert weights and all(g is not None and g.abs().sum() > 0 for g in weights)
