"""``metaframe export``: the exported program and the ONNX graph give the PyTorch model's outputs.

One tiny trained image run (module-scoped: export is slow) is exported both ways and compared at
two batch sizes (and a second image size where the graph kept it dynamic) within 1e-4. Tokenizers
that branch on tensor values cannot be exported yet: their error must name the modality and the line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from metaframe.api import get_modality
from metaframe.export import SUFFIX, ExportError, export_model, export_run, flatten

TOL = 1e-4
ENCODER = {"embed_dim": 32, "depth": 2, "num_heads": 2, "seed": 0}


def _train(root: Path, modality: str, tokenizer: dict[str, Any] | None = None,
           reader: dict[str, Any] | None = None) -> tuple[Path, list[Any]]:
    from metaframe.engine.config import parse_config
    from metaframe.engine.trainer import train

    mod = get_modality(modality)
    (root / "examples").mkdir(parents=True)
    sources = list(mod.examples(root / "examples"))
    pairs = [(s, i % 2) for i, s in enumerate(sources * 3)]
    config = parse_config({
        "modalities": {modality: {"tokenizer": tokenizer or {}, "reader": reader or {}}},
        "encoder": ENCODER, "head": {"kind": "classification"}, "data": {}, "epochs": 1, "batch_size": 4,
        "device": "cpu", "seed": 0, "output_dir": str(root / "run"),
    }, f"test:{modality}")
    return Path(train(config, train_data=pairs, val_data=pairs, quiet=True).run_dir), sources


@pytest.fixture(scope="module")
def image_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Any]]:
    return _train(tmp_path_factory.mktemp("image"), "image", {"patch_size": 4, "image_size": 16}, {"size": 16})


def _batches(model: Any, sources: list[Any], sizes: tuple[int, ...]) -> list[Any]:
    from metaframe.export import example_batch

    return [example_batch(model, model.modalities[0], (sources * size)[:size]) for size in sizes]


def _reference(model: Any, batch: Any) -> torch.Tensor:
    with torch.no_grad():
        return model({model.modalities[0]: batch})["label"]


@pytest.fixture(scope="module")
def exported(image_run: tuple[Path, list[Any]], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from metaframe.engine.run import load_run

    run_dir, sources = image_run
    model = load_run(run_dir, device="cpu")
    out = tmp_path_factory.mktemp("out")
    example = _batches(model, sources, (3,))[0]
    paths = {fmt: export_model(model, "image", example, out / f"image{SUFFIX[fmt]}", fmt)
             for fmt in ("exported-program", "onnx")}
    return {"model": model, "sources": sources, "paths": paths}


def _checks(exported: dict[str, Any]) -> list[Any]:
    model, sources = exported["model"], exported["sources"]
    batches = _batches(model, sources, (2, 5))
    sidecar = json.loads(Path(str(exported["paths"]["onnx"]) + ".json").read_text())
    height = sidecar["dynamic_axes"]["image"].get("2")
    if height is not None and height[1] is not None and height[1] > 16:  # another height the graph accepts
        batches.append(torch.rand(4, 3, height[1], 16))
    return batches


def test_exported_program_matches_pytorch(exported: dict[str, Any]) -> None:
    program = torch.export.load(str(exported["paths"]["exported-program"])).module()
    for batch in _checks(exported):
        (got,) = program(*flatten(batch).tensors)
        want = _reference(exported["model"], batch)
        assert got.shape == want.shape
        assert torch.allclose(got, want, atol=TOL), (got - want).abs().max()


def test_onnx_matches_pytorch(exported: dict[str, Any]) -> None:
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(str(exported["paths"]["onnx"]), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    assert names == ["image"]
    assert [o.name for o in session.get_outputs()] == ["label"]
    for batch in _checks(exported):
        (got,) = session.run(None, {"image": batch.numpy()})
        want = _reference(exported["model"], batch).numpy()
        assert got.shape == want.shape
        assert abs(got - want).max() <= TOL


def test_sidecar_names_inputs_axes_outputs_and_encoder(exported: dict[str, Any]) -> None:
    sidecar = json.loads(Path(str(exported["paths"]["onnx"]) + ".json").read_text())
    assert sidecar["inputs"][0]["name"] == "image" and sidecar["inputs"][0]["dtype"] == "float32"
    assert sidecar["dynamic_axes"]["image"]["0"][1] is None  # the batch: any size
    assert sidecar["outputs"] == ["label"]
    assert sidecar["encoder"]["sha256"] == exported["model"].encoder.identity.sha256


def test_cli_writes_program_and_sidecar(image_run: tuple[Path, list[Any]], tmp_path: Path) -> None:
    run_dir, _ = image_run
    out = tmp_path / "model.pt2"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-m", "metaframe", "export", str(run_dir), "--format", "exported-program",
                           "--out", str(out)], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"wrote {out}" in done.stdout
    sidecar = json.loads((tmp_path / "model.pt2.json").read_text())
    assert sidecar["run"] == str(run_dir.resolve()) and sidecar["format"] == "exported-program"
    assert torch.export.load(str(out)).module() is not None


def test_unknown_modality_names_what_the_run_has(image_run: tuple[Path, list[Any]], tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"modality 'audio': the run has no such tokenizer; it has image"):
        export_run(image_run[0], "exported-program", modality="audio", out=tmp_path / "a.pt2")


def test_tokenizer_branching_on_values_names_modality_and_line(tmp_path: Path) -> None:
    pytest.importorskip("metaframe_audio")
    from metaframe import FrozenEncoder, MetaModel
    from metaframe.export import example_batch
    from metaframe.heads import ClassificationHead

    encoder = FrozenEncoder.from_preset("tiny", seed=0)
    tokenizer = get_modality("audio").build_tokenizer(embed_dim=encoder.embed_dim)
    model = MetaModel(encoder, {"audio": tokenizer}, {"label": ClassificationHead(encoder.embed_dim, 2)})
    tmp_path.joinpath("examples").mkdir()
    batch = example_batch(model, "audio", get_modality("audio").examples(tmp_path / "examples"))
    with pytest.raises(ExportError, match=r"modality 'audio'.*fbank\.py:\d+"):
        export_model(model, "audio", batch, tmp_path / "a.pt2", "exported-program")
    assert not (tmp_path / "a.pt2").exists()


def test_batch_without_tensors_is_refused() -> None:
    from dataclasses import dataclass

    @dataclass
    class Rows:
        columns: dict[str, list[Any]]
        num_rows: int

    with pytest.raises(ExportError, match="modality 'tabular'.*holds no tensors"):
        flatten(Rows({"age": [1, 2]}, 2), "tabular")
