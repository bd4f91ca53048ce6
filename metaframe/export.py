"""Export the tensor part of a trained run (collated batch → tokenizer → frozen encoder → heads).

Reading and collating stay in Python (they open files, decode, resample, tokenize strings): the
exported graph starts at the collated batch. A batch that is a dataclass (``TextBatch``,
``SeriesBatch``, …) or a dict is flattened into named tensor inputs (``input_ids``, ``mask``) and
rebuilt inside the graph; its non-tensor fields (a vocabulary size, a context length) are frozen
at the values of the example batch. A tokenizer whose collated batch holds raw values (tabular)
has a ``tensor_batch(batch)`` method, its Python step: the graph starts at what that returns.

``torch.export.export`` makes the program; the ONNX file is converted from that same program by
``torch.onnx.export(..., dynamo=True)`` (the legacy TorchScript exporter is not used: the dynamo
one keeps the dynamic sizes torch.export found, and handles the encoder's masked
``scaled_dot_product_attention``). Every size but the batch is ``Dim.AUTO``: the exporter keeps it
dynamic when the graph allows (a text length, a number of frames) and fixes it otherwise (an
image size, a number of table columns); the sidecar JSON records which axes came out dynamic.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
from torch import nn
from metaframe_registry import MetaframeError


FORMATS = ("onnx", "exported-program")
SUFFIX = {"onnx": ".onnx", "exported-program": ".pt2"}
ONNX_OPSET = 18


class ExportError(MetaframeError):
    """A run could not be exported; the message names the modality and what failed."""


@dataclass
class FlatBatch:
    """A collated batch as named tensors plus what is needed to rebuild it (see ``flatten``)."""

    names: list[str]
    tensors: list[torch.Tensor]
    kind: str  # "tensor", "dict" or "dataclass"
    cls: Any = None
    constants: dict[str, Any] = field(default_factory=dict)

    def rebuild(self, tensors: Sequence[torch.Tensor]) -> Any:
        if self.kind == "tensor":
            return tensors[0]
        values = {**self.constants, **dict(zip(self.names, tensors))}
        if self.kind == "dict":
            return values
        return self.cls(**values)


def flatten(batch: Any, modality: str = "batch") -> FlatBatch:
    """A tensor, a dict of tensors or a dataclass batch as named tensor inputs."""
    if isinstance(batch, torch.Tensor):
        return FlatBatch([modality], [batch], "tensor")
    if isinstance(batch, Mapping):
        items, kind, cls = dict(batch), "dict", None
    elif dataclasses.is_dataclass(batch) and not isinstance(batch, type):
        items = {f.name: getattr(batch, f.name) for f in dataclasses.fields(batch) if f.init}
        kind, cls = "dataclass", type(batch)
    else:
        raise ExportError(f"{modality}: the collated batch is a {type(batch).__name__}; export handles a tensor, "
                          "a dict of tensors or a dataclass batch")
    names = [k for k, v in items.items() if isinstance(v, torch.Tensor)]
    if not names:
        raise ExportError(f"modality {modality!r}: the collated {type(batch).__name__} holds no tensors (its tokenizer "
                          "turns raw values into tensors inside forward), so there is no tensor graph to export")
    nested = [k for k, v in items.items() if not isinstance(v, torch.Tensor) and _holds_tensor(v)]
    if nested:
        raise ExportError(f"{modality}: field {nested[0]!r} of {type(batch).__name__} nests tensors; "
                          "export handles tensor fields and plain constants")
    constants = {k: v for k, v in items.items() if k not in names}
    return FlatBatch(names, [items[k] for k in names], kind, cls, constants)


def _holds_tensor(value: Any) -> bool:
    if isinstance(value, torch.Tensor):
        return True
    if isinstance(value, (list, tuple)):
        return any(_holds_tensor(v) for v in value)
    if isinstance(value, Mapping):
        return any(_holds_tensor(v) for v in value.values())
    return dataclasses.is_dataclass(value) and not isinstance(value, type)


class ExportModule(nn.Module):
    """One modality's tokenizer → frozen encoder → heads, taking flat tensors, returning a tuple of head outputs."""

    def __init__(self, model: nn.Module, modality: str, flat: FlatBatch, heads: Sequence[str]) -> None:
        super().__init__()
        self.model = model
        self.modality = modality
        self.flat = flat
        self.head_names = list(heads)

    def forward(self, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
        batch = self.flat.rebuild(tensors)
        out = self.model({self.modality: batch}, heads=self.head_names)
        return tuple(out[name] for name in self.head_names)


def _tensor_batch(model: nn.Module, modality: str) -> Any:
    """The tokenizer's Python step before its tensor part (``tensor_batch``), or None."""
    prepare = getattr(model.tokenizers[modality], "tensor_batch", None)  # type: ignore[index]
    return prepare if callable(prepare) else None


def graph_batch(model: nn.Module, modality: str, batch: Any) -> Any:
    """What the graph's inputs come from: ``tokenizer.tensor_batch(batch)`` where the tokenizer has that Python step."""
    prepare = _tensor_batch(model, modality)
    return prepare(batch) if prepare is not None else batch


def graph_inputs(model: nn.Module, modality: str, batch: Any) -> list[torch.Tensor]:
    """The exported graph's input tensors for a collated ``batch``, in the order of the sidecar's ``inputs``."""
    return flatten(graph_batch(model, modality, batch), modality).tensors


def dynamic_shapes(flat: FlatBatch) -> tuple[dict[int, Any], ...]:
    """Batch (dim 0) dynamic and shared by every input; every other size left to the exporter (``Dim.AUTO``)."""
    from torch.export import Dim

    batch = Dim("batch")
    return tuple({0: batch, **{d: Dim.AUTO for d in range(1, t.dim())}} if t.dim() else {} for t in flat.tensors)


def _failing_op(exc: BaseException) -> str:
    """The operation an exporter error names (a source line for a branch on data), else its first line."""
    text = str(exc)
    call = re.search(r'raised this error:\s*File "([^"]+)", line (\d+), in (\w+)\s*\n\s*(.+)', text)
    if call:
        where = "/".join(Path(call.group(1)).parts[-2:])
        return f"{call.group(4).strip()} ({where}:{call.group(2)} in {call.group(3)}: a branch on tensor values)"
    caused = re.search(r"Caused by: \(?([^\s()]+:\d+) in (\w+)\)?", text)
    if caused and "data-dependent" in text:
        return f"{caused.group(1)} in {caused.group(2)}: an operation whose result depends on tensor values"
    for pattern in (r"(aten::\w+(?:\.\w+)?)", r"(aten\.\w+(?:\.\w+)?)", r"torch\.ops\.(\w+\.\w+)",
                    r"operator '?([\w.:]+)'?", r"call_function ([\w.]+)"):
        m = re.search(pattern, text)
        if m:
            return m.group(1)
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return f"{type(exc).__name__}: {first[:200]}"


def export_program(model: nn.Module, modality: str, batch: Any, heads: Sequence[str] | None = None
                   ) -> tuple[torch.export.ExportedProgram, FlatBatch, list[str]]:
    """``torch.export`` program of ``model`` for ``modality``'s collated ``batch`` (batch size ≥ 2)."""
    if modality not in getattr(model, "tokenizers", {}):
        have = ", ".join(getattr(model, "modalities", []))
        raise ExportError(f"modality {modality!r}: the model has no such tokenizer; it has {have}")
    merging = getattr(model, "token_merging", None)
    if merging is not None and getattr(merging, "active", False):
        raise ExportError(f"modality {modality!r}: token merging cannot be exported (its merges depend on the data); "
                          "load the run with token_merging=0 to export it")
    names = list(heads) if heads is not None else list(model.heads.keys())  # type: ignore[union-attr]
    if not names:
        raise ExportError(f"modality {modality!r}: the model has no heads to export")
    flat = flatten(graph_batch(model, modality, batch), modality)
    if flat.tensors[0].dim() and flat.tensors[0].shape[0] < 2:
        raise ExportError(f"{modality}: export needs an example batch of at least 2 samples (a batch of 1 "
                          "would fix the batch size), got 1")
    wrapper = ExportModule(model, modality, flat, names).eval()
    args, shapes = tuple(flat.tensors), (dynamic_shapes(flat),)
    try:
        with torch.no_grad():
            program = torch.export.export(wrapper, args, dynamic_shapes=shapes, strict=False)
    except Exception as exc:  # the exporter raises many types; one line naming the op for the user
        raise ExportError(f"modality {modality!r}: tokenizer or head cannot be exported by torch.export: "
                          f"{_failing_op(exc)}") from exc
    return program, flat, names


def dynamic_axes(program: torch.export.ExportedProgram, flat: FlatBatch) -> dict[str, dict[str, list[int | None]]]:
    """Each input's axes the program accepts more than one size for: ``{axis: [min, max]}`` (max None: unbounded).

    A size the graph keeps symbolic can still be guarded to a range (an image tokenizer with 4-pixel
    patches and 4 patches a side takes heights 16..19), so the range is recorded, not just the axis.
    """
    placeholders = {n.name: n for n in program.graph.nodes if n.op == "placeholder"}
    ranges = program.range_constraints
    out: dict[str, dict[str, list[int | None]]] = {}
    for input_name, node_name in zip(flat.names, program.graph_signature.user_inputs):
        val = placeholders[node_name].meta.get("val")
        axes: dict[str, list[int | None]] = {}
        for axis, size in enumerate(getattr(val, "shape", ())):
            if isinstance(size, int) or size.node.expr.is_number:  # a SymInt the exporter specialised is a number
                continue
            bounds = ranges.get(size.node.expr)
            lower = _finite(bounds.lower) if bounds is not None else None
            upper = _finite(bounds.upper) if bounds is not None else None
            if upper is None or lower is None or upper > lower:
                axes[str(axis)] = [lower or 0, upper]
        out[input_name] = axes
    return out


def _finite(bound: Any) -> int | None:
    """A range bound as an int, None for infinity (sympy's and torch's infinities do not convert)."""
    try:
        return int(bound) if bool(bound.is_finite) else None
    except (TypeError, AttributeError, ValueError, OverflowError):
        return None


def to_onnx(program: torch.export.ExportedProgram, path: Path, flat: FlatBatch, heads: Sequence[str],
            modality: str) -> None:
    try:
        onnx_program = torch.onnx.export(program, input_names=flat.names, output_names=list(heads), dynamo=True,
                                         opset_version=ONNX_OPSET, verbose=False)
    except ImportError as exc:
        raise ExportError(f"--format onnx needs onnx and onnxscript: pip install 'metaframe[export]' ({exc})") from exc
    except Exception as exc:
        raise ExportError(f"modality {modality!r}: cannot convert to ONNX: {_failing_op(exc)}") from exc
    onnx_program.save(str(path), external_data=False)


def export_model(model: nn.Module, modality: str, batch: Any, out: str | Path, fmt: str = "onnx",
                 *, heads: Sequence[str] | None = None, info: Mapping[str, Any] | None = None) -> Path:
    """Write ``out`` (``.onnx`` or ``.pt2``) and ``out`` + ``.json`` (inputs, dynamic axes, outputs, encoder, run)."""
    from metaframe.atomic import atomic_path, atomic_write_text

    if fmt not in FORMATS:
        raise ExportError(f"--format: {fmt!r} — must be one of {', '.join(FORMATS)}")
    out = Path(out)
    if out.suffix != SUFFIX[fmt]:
        raise ExportError(f"--out: {str(out)!r} — a {fmt} file must end with {SUFFIX[fmt]}")
    was_training = model.training
    model.eval()
    try:
        program, flat, names = export_program(model, modality, batch, heads)
        with atomic_path(out) as tmp:
            if fmt == "onnx":
                to_onnx(program, tmp, flat, names, modality)
            else:  # torch.export.save wants a name ending in .pt2, which the temporary has not: save to memory
                buffer = io.BytesIO()
                torch.export.save(program, buffer)
                tmp.write_bytes(buffer.getvalue())
    finally:
        model.train(was_training)
    encoder = getattr(model, "encoder", None)
    identity = encoder.identity.to_dict() if hasattr(encoder, "identity") else None
    sidecar = {
        "format": fmt,
        "file": out.name,
        "modality": modality,
        "inputs": [{"name": n, "dtype": str(t.dtype).removeprefix("torch."), "example_shape": list(t.shape)}
                   for n, t in zip(flat.names, flat.tensors)],
        "dynamic_axes": dynamic_axes(program, flat),
        "constants": {k: v for k, v in flat.constants.items() if isinstance(v, (int, float, str, bool, type(None)))},
        "outputs": names,
        "python_steps": ["read", "collate"] + (["tokenizer.tensor_batch"] if _tensor_batch(model, modality) else []),
        "encoder": identity,
        **dict(info or {}),
    }
    atomic_write_text(out.with_name(out.name + ".json"), json.dumps(sidecar, indent=2, default=str) + "\n")
    return out


def example_batch(model: nn.Module, modality: str, sources: Sequence[Any] | None = None) -> Any:
    """A collated batch for tracing: ``sources`` read with the run's reader options, else the plugin's examples."""
    import tempfile

    from metaframe.api import get_modality

    mod = get_modality(modality)
    info = getattr(model, "run_info", None)
    read_opts = dict(info.config.modalities[modality].reader) if info is not None else {}
    with tempfile.TemporaryDirectory() as tmp:
        items = list(sources) if sources else list(mod.examples(tmp))
        if len(items) < 2:
            items = items * 2
        samples = [mod.read(s, **read_opts) for s in items]
        return mod.collate(samples)


def export_run(run_dir: str | Path, fmt: str = "onnx", *, modality: str | None = None, out: str | Path | None = None,
               checkpoint: str = "best", sources: Sequence[Any] | None = None) -> Path:
    """Export a run directory's ``modality`` (default: its only one) to ``out`` (default: inside the run)."""
    from metaframe.engine.run import load_run

    run_dir = Path(run_dir)
    model = load_run(run_dir, checkpoint=checkpoint, device="cpu")
    from metaframe.contrastive import AlignedModel

    if isinstance(model, AlignedModel):
        raise ExportError(f"{run_dir}: an aligned run (align: in its config) is not exported yet; "
                          "its embeddings come from `metaframe encode MODALITY FILES --run RUN_DIR`")
    if modality is None:
        if len(model.modalities) != 1:
            raise ExportError(f"{run_dir}: the run has modalities {', '.join(model.modalities)}; pass --modality")
        modality = model.modalities[0]
    if modality not in model.tokenizers:
        raise ExportError(f"{run_dir}: modality {modality!r}: the run has no such tokenizer; it has "
                          f"{', '.join(model.modalities)}")
    batch = example_batch(model, modality, sources)
    target = Path(out) if out is not None else run_dir / "export" / f"{modality}{SUFFIX[fmt]}"
    info = {"run": str(run_dir.resolve()), "checkpoint": model.run_info.checkpoint.name}  # type: ignore[attr-defined]
    return export_model(model, modality, batch, target, fmt, info=info)
