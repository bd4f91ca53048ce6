"""Hook plugin of metaframe-time-series (entry point group ``metaframe.plugins``). Torch-free."""

from __future__ import annotations

from metaframe_registry import hookimpl


@hookimpl
def metaframe_register_heads(register):  # type: ignore[no-untyped-def]
    register(
        "forecast",
        "metaframe_time_series.forecast_head:ForecastHead",
        "a [horizon, channels] forecast; undoes the tokenizer's instance normalisation (RevIN)",
    )
    register(
        "informer_decoder",
        "metaframe_time_series.informer_decoder:InformerDecoderHead",
        "the official forecaster: a trainable Informer decoder (label_len 48) cross-attending to the encoder tokens",
    )
