"""``metaframe export``: the exported program and the ONNX graph give the PyTorch model's outputs.

Tiny trained image, audio, text and tabular runs (module-scoped: export is slow) are exported both
ways and compared within 1e-4 at other batch sizes and, where the graph kept it dynamic, other
sequence lengths (audio durations, text lengths). A tokenizer that branches on tensor values cannot
be exported: its error must name the modality and the line.
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
from metaframe.export import SUFFIX, ExportError, export_model, export_run, flatten, graph_inputs

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


class ValueBranchTokenizer(torch.nn.Module):
    """A tokenizer whose forward branches on its input's values, which no graph can hold."""

    embed_dim = 192

    def __init__(self) -> None:
        super().__init__()
        self.proj = torch.nn.Linear(3, self.embed_dim)

    def forward(self, x: torch.Tensor) -> Any:
        from metaframe.tokens import TokenBatch

        if bool((x > 10).any()):
            raise ValueError("values above 10")
        return TokenBatch(self.proj(x), None)


def test_tokenizer_branching_on_values_names_modality_and_line(tmp_path: Path) -> None:
    from metaframe import FrozenEncoder, MetaModel
    from metaframe.heads import ClassificationHead

    encoder = FrozenEncoder.from_preset("tiny", seed=0)
    model = MetaModel(encoder, {"toy": ValueBranchTokenizer()}, {"label": ClassificationHead(encoder.embed_dim, 2)})
    with pytest.raises(ExportError, match=r"modality 'toy'.*if bool\(\(x > 10\)\.any\(\)\).*test_export\.py:\d+"):
        export_model(model, "toy", torch.rand(2, 5, 3), tmp_path / "a.pt2", "exported-program")
    assert not (tmp_path / "a.pt2").exists()


# -- audio, text, tabular: tokenizers whose collated batch is a dataclass (tabular: of raw values) ------------
def _clip(seconds: float, hz: float) -> Any:
    from metaframe_audio.samples import AudioClip

    t = torch.arange(int(seconds * 16000)) / 16000
    return AudioClip(0.3 * torch.sin(2 * torch.pi * hz * t), 16000)


MODALITIES: dict[str, dict[str, Any]] = {
    "audio": {"tokenizer": {"num_mel_bins": 32, "target_length": 64, "freq_mask": 0, "time_mask": 0},
              "batches": lambda: [[_clip(0.3, 300), _clip(1.2, 500)], [_clip(0.2, 700)] * 3,
                                  [_clip(0.9, 200), _clip(0.4, 900), _clip(2.0, 400), _clip(0.6, 100)]],
              "dynamic": {"waveform": "1"}},
    "text": {"tokenizer": {}, "batches": lambda: [["hi", "a photo of a dog"], ["ok", "yes", "no"],
                                                   ["a much longer sentence about a cat that sits on a mat"] * 5],
             "dynamic": {"input_ids": "1", "mask": "1"}},
    "tabular": {"tokenizer": {}, "batches": lambda: [
        [{"age": 52, "job": "clerk", "hours": 20.0}, {"age": 18, "job": None, "hours": None}],
        [{"age": None, "job": "nurse", "hours": 41.0}, {"age": 30, "job": "sailor", "hours": 38.0},
         {"age": 64.5, "job": "clerk", "hours": 12.0}]], "dynamic": {}},
}


@pytest.fixture(scope="module", params=sorted(MODALITIES))
def modality_export(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from metaframe.engine.run import load_run

    modality = request.param
    pytest.importorskip(f"metaframe_{modality}")
    spec = MODALITIES[modality]
    run_dir, sources = _train(tmp_path_factory.mktemp(modality), modality, spec["tokenizer"])
    model = load_run(run_dir, device="cpu")
    out = tmp_path_factory.mktemp(f"{modality}-out")
    from metaframe.export import example_batch

    example = example_batch(model, modality, (sources * 2)[:3])
    paths = {fmt: export_model(model, modality, example, out / f"{modality}{SUFFIX[fmt]}", fmt)
             for fmt in ("exported-program", "onnx")}
    batches = [example_batch(model, modality, items) for items in spec["batches"]()]
    return {"modality": modality, "model": model, "paths": paths, "batches": batches, "spec": spec}


def test_exported_program_matches_pytorch_per_modality(modality_export: dict[str, Any]) -> None:
    model, modality = modality_export["model"], modality_export["modality"]
    program = torch.export.load(str(modality_export["paths"]["exported-program"])).module()
    for batch in modality_export["batches"]:
        (got,) = program(*graph_inputs(model, modality, batch))
        want = model({modality: batch})["label"].detach()
        assert got.shape == want.shape
        assert torch.allclose(got, want, atol=TOL), (modality, (got - want).abs().max())


def test_onnx_matches_pytorch_per_modality(modality_export: dict[str, Any]) -> None:
    ort = pytest.importorskip("onnxruntime")
    model, modality = modality_export["model"], modality_export["modality"]
    session = ort.InferenceSession(str(modality_export["paths"]["onnx"]), providers=["CPUExecutionProvider"])
    sidecar = json.loads(Path(str(modality_export["paths"]["onnx"]) + ".json").read_text())
    names = [i.name for i in session.get_inputs()]
    assert names == [i["name"] for i in sidecar["inputs"]]
    for batch in modality_export["batches"]:
        feed = {name: t.numpy() for name, t in zip(names, graph_inputs(model, modality, batch))}
        (got,) = session.run(None, feed)
        with torch.no_grad():
            want = model({modality: batch})["label"].numpy()
        assert got.shape == want.shape
        assert abs(got - want).max() <= TOL, modality


def test_sequence_axes_stay_dynamic(modality_export: dict[str, Any]) -> None:
    """Audio durations and text lengths vary between batches, so the graph must keep those axes."""
    sidecar = json.loads(Path(str(modality_export["paths"]["onnx"]) + ".json").read_text())
    for name, axis in modality_export["spec"]["dynamic"].items():
        assert axis in sidecar["dynamic_axes"][name], (name, sidecar["dynamic_axes"])
    if modality_export["modality"] == "tabular":  # one token per fitted column: fixed, and the lookups stay in Python
        assert sidecar["dynamic_axes"]["numeric"] == {"0": [0, None]}
        assert sidecar["python_steps"] == ["read", "collate", "tokenizer.tensor_batch"]
    else:
        assert sidecar["python_steps"] == ["read", "collate"]


def test_batch_without_tensors_is_refused() -> None:
    from dataclasses import dataclass

    @dataclass
    class Rows:
        columns: dict[str, list[Any]]
        num_rows: int

    with pytest.raises(ExportError, match="modality 'tabular'.*holds no tensors"):
        flatten(Rows({"age": [1, 2]}, 2), "tabular")
