"""Plugin recipes: the training values a modality recommends, used where a config is silent.

A field the config (or ``--set``) gives always wins; a field it leaves out comes from the
recipe of the first modality of the run that sets it, and only then from the built-in
default. ``resolve_config`` returns the resolved config together with where every value came
from, which ``metaframe train --print-config`` prints and the run directory keeps.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from metaframe_registry import Recipe
from metaframe_registry.recipe import CONFIG_PATHS

from .config import TrainConfig

CONFIG = "config"
DEFAULT = "built-in default"


def recipe_source(modality: str) -> str:
    return f"recipe of {modality}"


@dataclass(frozen=True)
class ResolvedConfig:
    """A config with the recipes applied, and ``sources[dotted.path]`` for every value."""

    config: TrainConfig
    sources: dict[str, str]

    def describe(self) -> list[str]:
        """``path = value  (source)`` lines, one per value, in config order."""
        values = dict(_leaves(self.config.model_dump(mode="json")))
        width = max((len(p) for p in values), default=0)
        return [f"{p.ljust(width)} = {values[p]!r}  ({self.sources.get(p, DEFAULT)})" for p in values]


def _leaves(data: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(data, dict) and data:
        out: list[tuple[str, Any]] = []
        for key, value in data.items():
            out += _leaves(value, f"{prefix}.{key}" if prefix else str(key))
        return out
    return [(prefix, data)] if prefix else []


def _given(model: BaseModel, prefix: str = "") -> set[str]:
    """Dotted paths of the fields (and dict keys) set explicitly in ``model`` and below."""
    paths: set[str] = set()
    for name in model.model_fields_set:
        path = f"{prefix}.{name}" if prefix else name
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            paths |= _given(value, path)
        elif isinstance(value, dict) and value and all(isinstance(v, BaseModel) for v in value.values()):
            for key, item in value.items():
                paths |= _given(item, f"{path}.{key}") | {f"{path}.{key}"}
        elif isinstance(value, dict) and value:
            paths |= {p for p, _ in _leaves(value, path)}
        else:
            paths.add(path)
    return paths


def _accepts(factory: Callable[..., Any], option: str) -> bool:
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == option or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def _recipes_of(config: TrainConfig) -> dict[str, Recipe]:
    from metaframe.api import get_modality

    return {name: get_modality(name).manifest.recipe for name in config.modality_names}


def _head_factory(kind: str) -> Callable[..., Any] | None:
    from metaframe_registry import default_registry

    try:
        return default_registry().head(kind).load()
    except Exception:  # noqa: BLE001 - an unknown head fails later with its own clear error
        return None


def _tokenizer_factory(modality: str) -> Callable[..., Any] | None:
    from metaframe.api import get_modality

    try:
        return get_modality(modality)._resolve("tokenizer")
    except Exception:  # noqa: BLE001 - a broken tokenizer reference fails later, named
        return None


def resolve_config(
    config: TrainConfig,
    recipes: Mapping[str, Recipe] | None = None,
    *,
    head_factory: Callable[[str], Callable[..., Any] | None] = _head_factory,
    tokenizer_factory: Callable[[str], Callable[..., Any] | None] = _tokenizer_factory,
) -> ResolvedConfig:
    """Fill what ``config`` leaves out from the modalities' recipes (``recipes`` defaults to
    the installed plugins' manifests); the input is not changed."""
    recipes = dict(_recipes_of(config) if recipes is None else recipes)
    given = _given(config)
    data = config.model_dump(mode="python")
    sources = {p: CONFIG for p in given}
    order = [m for m in config.modality_names if m in recipes]

    def fill(path: str, value: Any, source: str) -> None:
        node = data
        *parents, last = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
        sources[path] = source

    for field, path in CONFIG_PATHS.items():
        if path in given:
            continue
        for modality in order:
            value = getattr(recipes[modality], field)
            if value is not None:
                fill(path, value, recipe_source(modality))
                break
    pooling = next(((m, recipes[m].pooling) for m in order if recipes[m].pooling is not None), None)
    if pooling is not None:
        for head, hcfg in config.heads.items():
            path = f"heads.{head}.options.pooling"
            factory = head_factory(hcfg.kind)
            if path not in given and factory is not None and _accepts(factory, "pooling"):
                fill(path, pooling[1], recipe_source(pooling[0]))
    for modality in order:
        factory = tokenizer_factory(modality)
        for option, value in recipes[modality].tokenizer.items():
            path = f"modalities.{modality}.tokenizer.{option}"
            if path not in given and factory is not None and _accepts(factory, option):
                fill(path, value, recipe_source(modality))
    resolved = TrainConfig.model_validate(data)
    return ResolvedConfig(resolved, sources)


def provenance_comment(resolved: ResolvedConfig) -> str:
    """The sources as YAML comment lines, so a printed config stays a valid config file."""
    lines = ["# where each value came from: the config (or --set), a plugin's recipe, or the built-in default"]
    lines += [f"#   {line}" for line in resolved.describe()]
    return "\n".join(lines) + "\n"
