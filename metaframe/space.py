"""Using an aligned run's shared space: embed anything, search an index, zero-shot classify.

An aligned run (``align:`` in its config, ``metaframe.contrastive``) maps each of its modalities
into one L2-normalised space. Its *space identity* is the frozen encoder's identity plus a hash of
the run's trained projections: two runs over the same encoder are still different spaces, so an
index records the identity and refuses queries embedded by another run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from metaframe_registry import ConfigError

from .index import Index, SearchIndexError, SearchResult


def is_aligned(model: Any) -> bool:
    from .contrastive import AlignedModel

    return isinstance(model, AlignedModel)


def space_identity(model: Any) -> dict[str, Any]:
    """The encoder identity plus ``space`` (sha256 of the checkpoint's trained weights) and ``run``."""
    identity = dict(model.encoder.identity.to_dict())
    info = getattr(model, "run_info", None)
    if info is None:
        return identity
    digest = hashlib.sha256((Path(info.checkpoint) / "model.safetensors").read_bytes()).hexdigest()
    identity.update({"space": digest, "run": str(Path(info.run_dir).resolve()), "checkpoint": Path(info.checkpoint).name})
    return identity


@dataclass
class AlignedProjection:
    """What ``metaframe encode --run`` needs of an aligned run: its projection of the encoder's
    output into the shared space, the space's width and its identity (stored with the vectors)."""

    project: Callable[[Any], torch.Tensor]
    dim: int
    identity: dict[str, Any]


def aligned_projection(model: Any, modality: str) -> AlignedProjection | None:
    """An aligned run's projection for ``modality`` (None for any other run: encode pools as before)."""
    if not is_aligned(model):
        return None
    dim = int(model.run_info.config.align.dim)
    return AlignedProjection(model.heads[modality], dim, space_identity(model))


def load_aligned(run: str | Path | Any, device: str = "auto") -> Any:
    """An aligned run's model (``load_run``), or a clear error for any other run."""
    from .engine.run import load_run

    model = load_run(run, device=device) if isinstance(run, (str, Path)) else run
    if not is_aligned(model):
        where = getattr(getattr(model, "run_info", None), "run_dir", run)
        raise ConfigError(f"{where}: not an aligned run (its config has no align: section); train one with align: {{dim: 128}}")
    return model


def _check_modality(model: Any, modality: str, what: str = "modality") -> None:
    if modality not in model.tokenizers:
        raise ConfigError(
            f"{what}: {modality!r} — the run {model.run_info.run_dir} has no tokenizer for it; "
            f"it aligns {', '.join(model.modalities)}"
        )


def embed(
    run: str | Path | Any, modality: str, inputs: Sequence[Any], *, batch_size: int = 32, device: str = "auto",
    quiet: bool = True,
) -> torch.Tensor:
    """L2-normalised embeddings ``[N, dim]`` of ``inputs`` (files, folders, strings, arrays) in the
    shared space of the aligned ``run`` (a run directory or a model from ``load_run``)."""
    from .engine.encoding import encode

    model = load_aligned(run, device)
    _check_modality(model, modality)
    result = encode(
        modality, list(inputs), run=model.run_info.run_dir, batch_size=batch_size, num_workers=0,
        device=device, quiet=quiet,
    )
    return result.embeddings


# -- search ----------------------------------------------------------------------------------


def open_index(path: str | Path, backend: str = "exact") -> Index:
    """An ``Index.save`` file or ``metaframe encode --out`` output (a file or a folder of shards)."""
    import json

    path = Path(path)
    if path.is_dir():  # a folder of shards: `metaframe encode --out DIR`, one process or torchrun
        index = Index.from_encoded(path)
        index.backend = backend  # type: ignore[assignment]
        return index
    side = path.with_suffix(path.suffix + ".json")
    if not side.is_file():
        raise SearchIndexError(f"{side}: no such file (an index is PATH with PATH.json, from Index.save or `metaframe encode --out`)")
    meta = json.loads(side.read_text(encoding="utf-8"))
    if meta.get("format", "").startswith("metaframe-index"):
        return Index.load(path, backend=backend)  # type: ignore[arg-type]
    index = Index.from_encoded(path)
    if backend != "exact":
        index.backend = backend  # type: ignore[assignment]
    return index


def as_query(query: Any, modality: str) -> Any:
    """A command-line query: an existing file's path, else the text itself (text-like modalities)."""
    from .api import get_modality

    if isinstance(query, str) and Path(query).exists():
        return Path(query)
    if isinstance(query, str) and "str" not in get_modality(modality).manifest.inputs:
        raise ConfigError(f"--query: {query!r} — no such file (a {modality} query must be a file)")
    return query


def search(
    index: Index | str | Path, query: Any, modality: str, *, k: int = 10, run: str | Path | Any | None = None,
    device: str = "auto",
) -> SearchResult:
    """The ``k`` nearest index rows to ``query`` (a file, a text…) embedded as ``modality``.

    The query is embedded with ``run``, by default the aligned run the index records; an index built
    with another run (or another encoder) is refused.
    """
    idx = open_index(index) if isinstance(index, (str, Path)) else index
    recorded = (idx.encoder or {}).get("run")
    if run is None:
        if recorded is None:
            raise SearchIndexError(
                "search: the index records no aligned run (it was not built with `metaframe encode --run ALIGNED_RUN`); pass --run"
            )
        if not Path(recorded).is_dir():
            raise SearchIndexError(f"search: the index was built with run {recorded}, which no longer exists; pass --run")
        run = recorded
    model = load_aligned(run, device)
    _check_modality(model, modality, "--modality")
    vector = embed(model, modality, [query], device=device)
    return idx.search(vector, k, encoder=space_identity(model))


# -- zero-shot -------------------------------------------------------------------------------


@dataclass
class ZeroShotResult:
    """Per input the predicted label and the similarity to every prompt; accuracy when truth is known."""

    labels: list[str]
    prompts: list[str]
    sources: list[str]
    predictions: list[str]
    scores: torch.Tensor
    truth: list[str] | None = None

    @property
    def accuracy(self) -> float | None:
        if self.truth is None:
            return None
        return sum(p == t for p, t in zip(self.predictions, self.truth)) / max(len(self.truth), 1)

    @property
    def chance(self) -> float:
        """Accuracy of guessing uniformly among the labels."""
        return 1.0 / len(self.labels)


def infer_modality(model: Any, prompt_modality: str, modality: str | None) -> str:
    """The inputs' modality: given, or the run's only one besides the prompts'."""
    _check_modality(model, prompt_modality, "prompt modality")
    if modality is not None:
        _check_modality(model, modality, "--modality")
        return modality
    others = [m for m in model.modalities if m != prompt_modality]
    if len(others) != 1:
        raise ConfigError(f"--modality: the run aligns {', '.join(others)} besides {prompt_modality}; name the inputs' modality")
    return others[0]


def zero_shot(
    run: str | Path | Any,
    inputs: Sequence[Any],
    labels: Sequence[str],
    template: str = "{}",
    *,
    modality: str | None = None,
    prompt_modality: str = "text",
    truth: Sequence[str] | None = None,
    batch_size: int = 32,
    device: str = "auto",
    quiet: bool = True,
) -> ZeroShotResult:
    """Classify ``inputs`` by the most similar prompt ``template.format(label)`` (CLIP's zero-shot).

    The prompts are embedded through the run's ``prompt_modality`` side; no classifier is trained.
    """
    from .engine.encoding import encode

    labels = [str(label) for label in labels]
    if len(labels) < 2:
        raise ConfigError(f"--labels: {labels} — give two or more labels, comma-separated")
    if "{}" not in template:
        raise ConfigError(f"--template: {template!r} — needs a {{}} where the label goes, e.g. 'a photo of a {{}}'")
    model = load_aligned(run, device)
    modality = infer_modality(model, prompt_modality, modality)
    prompts = [template.format(label) for label in labels]
    text = embed(model, prompt_modality, prompts, batch_size=batch_size, device=device)
    result = encode(modality, list(inputs), run=model.run_info.run_dir, batch_size=batch_size, num_workers=0,
                    device=device, quiet=quiet)
    scores = result.embeddings @ text.T
    predictions = [labels[i] for i in scores.argmax(1).tolist()]
    return ZeroShotResult(labels, prompts, result.sources, predictions, scores, list(truth) if truth is not None else None)


def labelled_folder(root: str | Path, modality: str) -> tuple[list[Path], list[str]]:
    """``root/<label>/<file>``: the files and their labels (the class folders' names)."""
    from .api import get_modality
    from .engine.encoding import expand_sources

    root = Path(root)
    if not root.is_dir():
        raise ConfigError(f"--data: {str(root)!r} — not a folder (expected one sub-folder per label)")
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise ConfigError(f"--data: {root} — expected one sub-folder per label, found none")
    files, truth = [], []
    mod = get_modality(modality)
    for folder in classes:
        found = expand_sources([folder], mod)
        files += found
        truth += [folder.name] * len(found)
    return files, truth


__all__ = ["ZeroShotResult", "embed", "open_index", "search", "space_identity", "zero_shot"]
