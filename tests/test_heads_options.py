"""A misspelt or refused head option is one ConfigError line, from Python and from a config."""

from __future__ import annotations

import pytest

import metaframe
from metaframe import ConfigError
from metaframe_registry import Registry, hookimpl, use_registry


def test_misspelt_head_option_names_head_option_hint_and_allowed() -> None:
    with pytest.raises(ConfigError) as info:
        metaframe.build_head("classification", embed_dim=8, num_classes=3, poling="mean")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("head 'classification': unknown option 'poling' (did you mean 'pooling'?)")
    assert "allowed options: num_classes, pooling, hidden, dropout" in message
    assert isinstance(info.value, TypeError)  # what calling the factory would have raised


def test_refused_head_value_is_a_config_error_naming_the_head() -> None:
    with pytest.raises(ConfigError, match=r"^head 'embedding': pooling 'avg' is not one of cls, mean, max"):
        metaframe.build_head("embedding", embed_dim=8, pooling="avg")
    with pytest.raises(ConfigError, match=r"^head 'regression': options \{'out_shape': 'wide'\} — "):
        metaframe.build_head("regression", embed_dim=8, out_shape="wide")


def test_a_head_taking_kwargs_is_not_second_guessed() -> None:
    seen = {}

    def factory(embed_dim, **options):  # type: ignore[no-untyped-def]
        seen.update(options, embed_dim=embed_dim)
        return object()

    class Plugin:
        @staticmethod
        @hookimpl
        def metaframe_register_heads(register):  # type: ignore[no-untyped-def]
            register("loose", factory)

    registry = Registry(entry_points=False)
    registry.register_plugin(Plugin(), name="loose-plugin")
    with use_registry(registry):
        metaframe.build_head("loose", embed_dim=4, anything=1)
    assert seen == {"anything": 1, "embed_dim": 4}


def test_config_head_option_typo_is_one_line_with_the_field_path() -> None:
    from metaframe.engine.build import build_model
    from metaframe.engine.config import TrainConfig

    config = TrainConfig.model_validate(
        {"modality": "tabular", "data": {"train": "x.csv"}, "head": {"kind": "classification", "options": {"poling": "mean"}}}
    )
    encoder = metaframe.FrozenEncoder(embed_dim=8, depth=1, num_heads=2)
    with pytest.raises(ConfigError) as info:
        build_model(config, encoder, {"label": ["a", "b"]}, {})
    message = str(info.value)
    assert message.startswith("heads.label.options: head 'classification': unknown option 'poling'")
    assert "did you mean 'pooling'?" in message and "\n" not in message


def test_unknown_head_kind_in_a_config_names_registered_heads() -> None:
    from metaframe.engine.build import build_model
    from metaframe.engine.config import TrainConfig

    config = TrainConfig.model_validate({"modality": "tabular", "data": {"train": "x.csv"}, "head": {"kind": "linear"}})
    encoder = metaframe.FrozenEncoder(embed_dim=8, depth=1, num_heads=2)
    with pytest.raises(ConfigError, match=r"heads.label.kind: head 'linear' is not registered. Registered heads: .*classification"):
        build_model(config, encoder, {"label": ["a", "b"]}, {})
