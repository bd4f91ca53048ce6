"""Plugin recipes: what a config leaves out comes from the run's modalities, and the run says so."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parents[1]))

from distributions import third_party  # noqa: E402
from engine_helpers import run_module, tiny_config  # noqa: E402
from metaframe.engine.config import parse_config  # noqa: E402
from metaframe.engine.recipes import DEFAULT, provenance_comment, resolve_config  # noqa: E402
from metaframe_registry import POOLINGS, Recipe  # noqa: E402


def pooled_head(embed_dim: int, num_classes: int, pooling: str = "cls") -> None: ...


def plain_head(embed_dim: int, num_classes: int) -> None: ...


def tokenizer(embed_dim: int, init: str = "trunc_normal", patch_size: int = 16) -> None: ...


def heads(kind: str) -> Any:
    return {"classification": pooled_head, "forecast": plain_head}.get(kind)


def two_modalities(**extra: Any) -> dict[str, Any]:
    return {
        "modalities": {"image": {}, "audio": {}},
        "heads": {
            "a": {"kind": "classification", "target": "label"},
            "b": {"kind": "forecast", "target": "label"},
        },
        "data": {"train": "data/train"},
        **extra,
    }


def resolve(config: dict[str, Any], recipes: dict[str, Recipe]) -> Any:
    return resolve_config(
        parse_config(config, "config"), recipes, head_factory=heads, tokenizer_factory=lambda m: tokenizer
    )


def test_the_config_wins_the_recipe_fills_the_rest_then_the_default() -> None:
    recipes = {"image": Recipe(lr=3e-3, epochs=7, batch_size=16)}
    got = resolve(two_modalities(epochs=2, optimizer={"lr": 1e-4}), recipes)
    assert got.config.optimizer.lr == 1e-4 and got.sources["optimizer.lr"] == "config"
    assert got.config.epochs == 2 and got.sources["epochs"] == "config"
    assert got.config.batch_size == 16 and got.sources["batch_size"] == "recipe of image"
    assert got.config.optimizer.weight_decay == 0.05 and got.sources.get("optimizer.weight_decay", DEFAULT) == DEFAULT


def test_the_first_modality_of_the_run_that_sets_a_field_decides() -> None:
    recipes = {"image": Recipe(epochs=7), "audio": Recipe(lr=2e-2, epochs=30)}
    got = resolve(two_modalities(), recipes)
    assert got.config.epochs == 7 and got.sources["epochs"] == "recipe of image"
    assert got.config.optimizer.lr == 2e-2 and got.sources["optimizer.lr"] == "recipe of audio"


def test_pooling_goes_only_to_heads_that_pool() -> None:
    got = resolve(two_modalities(), {"image": Recipe(pooling="cls+max+mean")})
    assert got.config.heads["a"].options == {"pooling": "cls+max+mean"}
    assert got.sources["heads.a.options.pooling"] == "recipe of image"
    assert got.config.heads["b"].options == {}
    written = two_modalities()
    written["heads"]["a"]["options"] = {"pooling": "mean"}
    assert resolve(written, {"image": Recipe(pooling="max")}).config.heads["a"].options == {"pooling": "mean"}


def test_tokenizer_options_fill_only_what_the_tokenizer_takes_and_the_config_omits() -> None:
    recipes = {"image": Recipe(tokenizer={"init": "normal", "not_an_option": 1}), "audio": Recipe(tokenizer={"init": "normal"})}
    config = two_modalities()
    config["modalities"]["audio"] = {"tokenizer": {"init": "zeros"}}
    got = resolve(config, recipes)
    assert got.config.modalities["image"].tokenizer == {"init": "normal"}
    assert got.sources["modalities.image.tokenizer.init"] == "recipe of image"
    assert got.config.modalities["audio"].tokenizer == {"init": "zeros"}


def test_an_empty_recipe_changes_nothing() -> None:
    config = parse_config(two_modalities(), "config")
    got = resolve_config(config, {"image": Recipe()}, head_factory=heads, tokenizer_factory=lambda m: tokenizer)
    assert got.config == config


def test_the_provenance_is_comments_so_the_printed_config_stays_a_config() -> None:
    got = resolve(two_modalities(), {"image": Recipe(lr=3e-3)})
    text = yaml.safe_dump(got.config.model_dump(mode="json"), sort_keys=False) + provenance_comment(got)
    assert "optimizer.lr" in text and "recipe of image" in text
    again = parse_config(yaml.safe_load(text), "printed")
    assert again == got.config


def test_the_recipe_poolings_are_the_heads_poolings() -> None:
    from metaframe.heads import POOLINGS as HEAD_POOLINGS

    assert tuple(POOLINGS) == tuple(HEAD_POOLINGS)


def test_a_recipe_value_out_of_range_is_refused_by_field() -> None:
    with pytest.raises(ValueError, match="lr"):
        Recipe(lr=-1.0)
    with pytest.raises(ValueError, match="pooling"):
        Recipe(pooling="attention")  # type: ignore[arg-type]


@pytest.fixture
def recipe_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    site = tmp_path / "site"
    for name, recipe in (("sonar", {"lr": 0.02, "epochs": 2, "pooling": "mean"}), ("lidar", {"lr": -1})):
        third_party(site, name, f"metaframe-{name}", "0.1.0", recipe=recipe)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PYTHONPATH", str(site))
    monkeypatch.delenv("METAFRAME_LOAD_PLUGINS", raising=False)
    for module in [m for m in sys.modules if m.partition(".")[0] in ("mf_sonar", "mf_lidar")]:
        monkeypatch.delitem(sys.modules, module)  # another test's mf_sonar (other recipe) must not be reused
    from metaframe_registry import reset_default_registry

    reset_default_registry()
    yield site
    reset_default_registry()


def sonar_config(out: Path) -> dict[str, Any]:
    return {
        "modality": "sonar",
        "tokenizer": {"width": 4},
        "encoder": {"embed_dim": 16, "depth": 1, "num_heads": 2},
        "head": {"kind": "classification"},
        "data": {"train": "unused"},
        "batch_size": 4,
        "device": "cpu",
        "output_dir": str(out),
    }


def test_print_config_shows_each_values_source(recipe_site: Path, tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(sonar_config(tmp_path / "run")))
    done = run_module(["metaframe", "train", str(path), "--print-config", "--set", "epochs=5"])
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any("optimizer.lr" in ln and "0.02" in ln and "recipe of sonar" in ln for ln in lines)
    assert any(ln.lstrip("# ").startswith("epochs") and "(config)" in ln for ln in lines)
    assert any("batch_size" in ln and "(config)" in ln for ln in lines)
    assert any("weight_decay" in ln and "built-in default" in ln for ln in lines)
    printed = yaml.safe_load(done.stdout)
    assert printed["optimizer"]["lr"] == 0.02 and printed["epochs"] == 5
    assert printed["heads"]["label"]["options"] == {"pooling": "mean"}


def test_a_run_trains_with_the_recipe_and_keeps_where_values_came_from(recipe_site: Path, tmp_path: Path) -> None:
    from metaframe.engine.trainer import train

    data = [([[float(i % 2)] * 4] * 3, str(i % 2)) for i in range(8)]
    result = train(sonar_config(tmp_path / "run"), quiet=True, train_data=data, val_data=data[:4])
    assert result.steps == 4  # two epochs of two batches: the recipe's epochs
    text = (tmp_path / "run" / "config.yaml").read_text()
    saved = yaml.safe_load(text)
    assert saved["optimizer"]["lr"] == 0.02
    assert "recipe of sonar" in text


def test_an_invalid_recipe_names_the_plugin_and_the_field(recipe_site: Path) -> None:
    done = run_module(["metaframe", "list-modalities", "--format", "json"])
    records = {r["name"]: r for r in yaml.safe_load(done.stdout)}
    assert records["sonar"]["status"] == "ok"
    assert records["lidar"]["status"] == "error"
    assert "recipe.lr" in records["lidar"]["error"] and "got -1" in records["lidar"]["error"]
