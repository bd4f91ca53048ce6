"""The ``TokenBatch.extras`` contracts (``metaframe.extras``): each built-in tokenizer that writes a
documented key writes it, with the documented shape and dtype, on its own example inputs.

A head reads these keys from another module (often another plugin), so a renamed key or a
changed shape would break it silently; this is where that shows. Modalities not installed skip.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest
import torch

import metaframe
from metaframe import extras
from metaframe.protocols import is_fittable

EMBED_DIM = 16


def _series_dims(batch: Any) -> dict[str, int]:
    return {"C": batch.values.shape[-1]}  # time_series: [B, T, C]


def _imu_dims(batch: Any) -> dict[str, int]:
    return {"C": batch.values.shape[1]}  # imu: [B, C, T]


def _graph_dims(batch: Any) -> dict[str, int]:
    return {"nodes": batch.node_mask.shape[1]}


def _no_dims(batch: Any) -> dict[str, int]:
    return {}


def _series_steps_dims(batch: Any) -> dict[str, int]:
    return {"T": batch.values.shape[1], "C": batch.values.shape[-1]}  # time_series: [B, T, C]


def _width_dims(batch: Any) -> dict[str, int]:
    return {"D": EMBED_DIM}


# (modality, tokenizer options over the manifest's example options, keys written, extra dims)
CASES: list[tuple[str, dict[str, Any], tuple[str, ...], Callable[[Any], dict[str, int]]]] = [
    ("time_series", {"mode": "patch"}, (extras.LENGTHS, extras.REVIN_LOC, extras.REVIN_SCALE, extras.TOKEN_CHANNEL), _series_dims),
    ("time_series", {"mode": "step", "normalize": "revin", "patch_len": None, "stride": None}, (extras.LENGTHS, extras.REVIN_LOC, extras.REVIN_SCALE), _series_dims),
    ("imu", {"projection": "channel"}, (extras.LENGTHS, extras.TOKEN_CHANNEL), _imu_dims),
    ("imu", {"projection": "joint", "normalize": "revin"}, (extras.LENGTHS, extras.REVIN_LOC, extras.REVIN_SCALE), _imu_dims),
    ("graph", {}, (extras.NODE_MASK, extras.NUM_NODES, extras.NUM_EDGES), _graph_dims),
    ("point_cloud", {}, (extras.CENTERS, extras.CENTER_INDEX), _no_dims),
    ("tabular", {}, (extras.MISSING, extras.UNKNOWN), _no_dims),
    ("audio", {}, (extras.NUM_FRAMES,), _no_dims),
    ("time_series", {"mode": "patch", "in_channels": 3}, (extras.SERIES_VALUES,), _series_steps_dims),
    ("time_series", {"mode": "step", "in_channels": 3, "patch_len": None, "stride": None}, (extras.SERIES_VALUES,), _series_steps_dims),
    ("point_cloud", {"add_pos_each_block": True}, (extras.BLOCK_POSITIONS,), _width_dims),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in options.items() if v is not None) or 'default'}" for name, options, _, _ in CASES]


def _tokenize(name: str, overrides: dict[str, Any], directory: Path) -> tuple[Any, metaframe.TokenBatch]:
    if name not in metaframe.list_modalities():
        pytest.skip(f"modality {name!r} is not installed")
    modality = metaframe.get_modality(name)
    manifest = modality.manifest
    samples = [modality.read(s, **manifest.example_reader_options) for s in modality.examples(directory)]
    options = {**manifest.example_tokenizer_options, **overrides}
    options = {k: v for k, v in options.items() if v is not None}  # None: drop an example option
    torch.manual_seed(0)
    tokenizer = modality.build_tokenizer(EMBED_DIM, **options)
    if is_fittable(tokenizer):
        tokenizer.fit(samples)
    batch = modality.collate(samples)
    with torch.no_grad():
        return batch, tokenizer.eval()(batch)


def _expected_shape(key: str, tb: metaframe.TokenBatch, dims: dict[str, int]) -> tuple[int, ...]:
    sizes = {"B": tb.batch_size, "N": tb.num_tokens, **dims}
    return tuple(d if isinstance(d, int) else sizes[d] for d in extras.SHAPES[key])


def _dtype_matches(tensor: torch.Tensor, documented: str) -> bool:
    if documented == "float":
        return tensor.is_floating_point()
    return tensor.dtype == getattr(torch, documented)


@pytest.mark.parametrize(("name", "overrides", "keys", "dims"), CASES, ids=IDS)
def test_the_tokenizer_writes_its_documented_extras(name, overrides, keys, dims, tmp_path):
    batch, tb = _tokenize(name, overrides, tmp_path)
    missing = [k for k in keys if k not in tb.extras]
    assert not missing, f"{name} wrote extras {sorted(tb.extras)}; documented but missing: {missing}"
    undocumented = sorted(set(tb.extras) - set(extras.KEYS))
    assert not undocumented, f"{name} writes extras not named in metaframe.extras: {undocumented}"
    for key in keys:
        value = tb.extras[key]
        want = _expected_shape(key, tb, dims(batch))
        assert tuple(value.shape) == want, f"{name} extras[{key!r}]: documented shape {want}, found {tuple(value.shape)}"
        assert _dtype_matches(value, extras.DTYPES[key]), (
            f"{name} extras[{key!r}]: documented dtype {extras.DTYPES[key]}, found {value.dtype}"
        )


def test_every_key_has_a_shape_a_dtype_and_a_docs_row():
    assert set(extras.SHAPES) == set(extras.DTYPES) == set(extras.KEYS)
    constants = {name: getattr(extras, name) for name in extras.__all__ if name not in ("KEYS", "SHAPES", "DTYPES")}
    assert sorted(constants.values()) == sorted(extras.KEYS), "every constant is a key of SHAPES, and back"
    page = (Path(__file__).resolve().parents[1] / "docs" / "building-blocks.md").read_text(encoding="utf-8")
    missing = [f"{name} ({key!r})" for name, key in constants.items() if f"| `{key}` | `{name}` |" not in page]
    assert not missing, f"docs/building-blocks.md's extras table has no row for: {', '.join(missing)}"


def test_a_written_revin_map_takes_normalised_values_back_to_the_data(tmp_path):
    """What the forecast head relies on: REVIN_LOC / REVIN_SCALE undo the tokenizer's normalisation."""
    if "time_series" not in metaframe.list_modalities():
        pytest.skip("modality 'time_series' is not installed")
    from metaframe.nn import RevIN, undo_revin

    values = torch.randn(2, 20, 3) * torch.tensor([1.0, 10.0, 100.0]) + 5.0
    tokenizer = metaframe.build_tokenizer("time_series", EMBED_DIM, mode="patch", in_channels=3, patch_len=4, stride=4)
    tb = tokenizer(values)
    normed, _, _ = RevIN(3)(values, torch.ones(2, 20, dtype=torch.bool))
    back = undo_revin(normed, tb.extras[extras.REVIN_LOC], tb.extras[extras.REVIN_SCALE])
    torch.testing.assert_close(back, values, rtol=1e-4, atol=1e-3)
