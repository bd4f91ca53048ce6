"""The lookup API stays light (no torch to list), filters by wildcard and names what is missing."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import metaframe


def test_listing_from_python_imports_no_torch() -> None:
    code = (
        "import sys\n"
        "import metaframe\n"
        "names = metaframe.list_modalities()\n"
        "assert 'image' in names and metaframe.list_modalities('*ray*') == ['xray'], names\n"
        "assert 'classification' in metaframe.list_heads()\n"
        "print(','.join(m for m in ('torch', 'torchvision', 'timm') if m in sys.modules))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "METAFRAME_LOAD_PLUGINS"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"import metaframe; list_modalities() imported {out.stdout.strip()}"


def test_list_modalities_filters_by_wildcard() -> None:
    assert metaframe.list_modalities("*ray*") == ["xray"]
    assert metaframe.list_modalities("im*") == ["image", "imu"]
    assert metaframe.list_modalities("nothing*") == []
    assert set(metaframe.list_modalities()) >= {"image", "imu", "xray", "text"}
    records = metaframe.list_modalities("i*", include_errors=True)
    assert sorted(r.name for r in records) == ["image", "imu", "infrared"]
    assert metaframe.list_heads("class*") == ["classification"]
    assert metaframe.list_encoders("whisper*") == ["whisper-tiny.en"]


def test_cli_list_modalities_filters_by_wildcard(cli) -> None:
    result = cli("list-modalities", "*ray*", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert [row["name"] for row in json.loads(result.stdout)] == ["xray"]
    table = cli("list-modalities", "im*")
    assert [line.split()[0] for line in table.stdout.splitlines()[1:]] == ["image", "imu"]
    none = cli("list-modalities", "smell*")
    assert none.returncode == 0 and "no installed modality matches 'smell*'" in none.stdout


def test_missing_capability_is_a_named_one_line_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from metaframe.modality import MissingCapabilityError

    image = metaframe.get_modality("image")
    assert image.manifest.dataset is None
    with pytest.raises(MissingCapabilityError) as info:
        image.dataset(tmp_path / "data.parquet")
    error = info.value
    assert isinstance(error, metaframe.ConfigError) and isinstance(error, metaframe.MetaframeError)
    assert (error.modality, error.field) == ("image", "dataset")
    message = str(error)
    assert "\n" not in message
    assert message.startswith("modality 'image' (metaframe-image ")
    assert "has no dataset reader" in message and "declares no `dataset`" in message
    assert "it declares: tokenizer, reader" in message
