"""``metaframe.encode``: files → one embedding per file through the frozen encoder.

Reading and tokenizing run in DataLoader workers (prefetching), so they hide behind the
encoder. An unreadable file, a sample the tokenizer refuses (the batch is then tried one
sample at a time) or one whose embedding is not finite stops the run naming it, or with
``skip_errors`` is reported and left out; no non-finite row is ever written. The index JSON
says which row is which file and which files failed.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from metaframe_registry import ConfigError, ReadError
from metaframe_registry.errors import describe_source

from metaframe.atomic import atomic_path, atomic_write_text
from metaframe.device import move_to
from metaframe.heads import POOLINGS, Pool
from metaframe.modality import CollateError, Modality
from metaframe.threads import apply_threads, worker_init

from .build import build_encoder, resolve_device
from .config import EncoderConfig


@dataclass
class EncodeResult:
    embeddings: torch.Tensor
    sources: list[str]
    failed: list[dict[str, str]] = field(default_factory=list)
    out: Path | None = None
    index: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.failed


def expand_sources(sources: Sequence[Any], modality: Modality) -> list[Any]:
    """Directories become their files (recursively, by the modality's extensions), sorted."""
    exts = set(modality.manifest.extensions)
    out: list[Any] = []
    for src in sources:
        if isinstance(src, (str, os.PathLike)) and Path(src).is_dir():
            files = sorted(
                p for p in Path(src).rglob("*")
                if p.is_file() and not p.name.startswith(".") and (not exts or p.suffix.lower() in exts)
            )
            if not files:
                raise ConfigError(f"{src}: no files with extensions {sorted(exts)} in this folder")
            out += files
        else:
            out.append(src)
    return out


class _ReadSafely(torch.utils.data.Dataset):
    """Returns ``(index, sample, None)`` or ``(index, None, problem)``: errors travel as data."""

    def __init__(self, sources: list[Any], modality: Modality, reader_options: dict[str, Any]) -> None:
        self.sources = sources
        self.modality = modality
        self.reader_options = reader_options

    def __len__(self) -> int:
        return len(self.sources)

    def __getitem__(self, i: int) -> tuple[int, Any, str | None]:
        try:
            return i, self.modality.read(self.sources[i], **self.reader_options), None
        except ReadError as exc:
            return i, None, exc.problem
        except Exception as exc:  # noqa: BLE001 - a plugin bug must not hide which file caused it
            return i, None, f"{type(exc).__name__}: {exc}"


class _CollateGood:
    def __init__(self, modality: Modality) -> None:
        self.modality = modality

    def __call__(
        self, items: list[tuple[int, Any, str | None]]
    ) -> tuple[list[int], Any, list[tuple[int, str]], str | None, list[Any]]:
        """``(indices, batch, unreadable, refusal, samples)``: a collate refusal travels as data
        too (with the samples, to be tried one by one), so the user sees its message, not a
        DataLoader worker's traceback."""
        good = [(i, s) for i, s, e in items if e is None]
        bad = [(i, e) for i, _, e in items if e is not None]
        try:
            batch = self.modality.collate([s for _, s in good]) if good else None
        except CollateError as exc:
            return [i for i, _ in good], None, bad, str(exc), [s for _, s in good]
        return [i for i, _ in good], batch, bad, None, []


def _problem(exc: BaseException) -> str:
    if isinstance(exc, ReadError):
        return exc.problem
    return " ".join(f"{type(exc).__name__}: {exc}".split())


def _unfit(exc: BaseException) -> bool:
    """A sample the tokenizer or encoder refuses (shape, size, value), not an out-of-memory."""
    return isinstance(exc, (ValueError, RuntimeError)) and not isinstance(exc, torch.cuda.OutOfMemoryError)


NON_FINITE = "its embedding is not finite (NaN or inf): the input holds non-finite values or overflows the encoder"


def encode(
    modality: str,
    sources: Sequence[Any],
    out: str | Path | None = None,
    *,
    run: str | Path | None = None,
    encoder: torch.nn.Module | None = None,
    encoder_config: EncoderConfig | None = None,
    tokenizer_options: dict[str, Any] | None = None,
    reader_options: dict[str, Any] | None = None,
    batch_size: int = 32,
    num_workers: int = 1,
    pooling: str | None = None,
    skip_errors: bool = False,
    device: str = "auto",
    quiet: bool = False,
    token_merging: Any = None,
) -> EncodeResult:
    """Embeddings ``[N, D]`` for ``sources`` (files, folders or in-memory objects).

    With ``run``: the run's trained tokenizer (and its encoder). Without: a freshly initialised
    tokenizer — a warning says so. ``out`` (``.safetensors`` or ``.npy``) is written atomically
    with an index ``<out>.json``. ``pooling``: one of ``metaframe.heads.POOLINGS`` (cls, mean,
    max, cls+max+mean); by default the run's head's pooling (``cls`` without a run).
    ``device``: auto (CUDA when available, else CPU), cpu, cuda, cuda:N or mps.
    ``token_merging`` (``TokenMerging`` or an int r): merge tokens in the frozen encoder (by
    default the run config's, or ``encoder_config.token_merging`` without a run).
    """
    from tqdm.auto import tqdm

    from metaframe.api import get_modality
    from metaframe.merging import as_token_merging

    from .run import load_run

    if pooling is not None and pooling not in POOLINGS:
        raise ConfigError(f"pooling: {pooling!r} — must be one of {', '.join(POOLINGS)}")
    out_path = Path(out) if out is not None else None
    if out_path is not None and out_path.suffix not in (".safetensors", ".npy"):
        raise ConfigError(f"--out: {str(out_path)!r} — must end with .safetensors or .npy")
    mod = get_modality(modality)
    dev = resolve_device(device)
    if run is not None:
        from metaframe.model import MetaModel

        model: MetaModel = load_run(run, encoder=encoder, device=str(dev), token_merging=token_merging)
        info = model.run_info  # type: ignore[attr-defined]
        if modality not in model.tokenizers:
            raise ConfigError(f"{run}: the run has no {modality!r} tokenizer; it has {', '.join(model.modalities)}")
        read_opts = {**info.config.modalities[modality].reader, **(reader_options or {})}
        origin = f"tokenizer trained in {run} ({info.checkpoint.name})"
    else:
        from metaframe.model import MetaModel

        print(
            f"warning: no run given: the {modality!r} tokenizer is FRESHLY INITIALISED (random weights); these "
            "embeddings reflect only the frozen encoder. Pass --run RUN_DIR to use a trained tokenizer.",
            file=sys.stderr,
        )
        enc = encoder if encoder is not None else build_encoder(encoder_config or EncoderConfig())
        tok = mod.build_tokenizer(embed_dim=enc.embed_dim, **(tokenizer_options or {}))
        model = MetaModel(enc, {modality: tok}).to(dev).eval()
        configured = encoder_config.token_merging if encoder_config is not None else None
        model.token_merging = as_token_merging(token_merging if token_merging is not None else configured)
        read_opts = dict(reader_options or {})
        origin = "freshly initialised tokenizer (random weights)"
    if pooling is None:
        pooling = run_pooling(model.run_info.config) if run is not None else "cls"  # type: ignore[attr-defined]
    pool = Pool(pooling, modality)
    # issue 13: an aligned run embeds into its shared space (its projection) and names that space
    from metaframe.space import aligned_embedder

    aligned = aligned_embedder(model, modality) if run is not None else None
    apply_threads(num_workers, model.run_info.config.threads if run is not None else "auto")  # type: ignore[attr-defined]
    files = expand_sources(sources, mod)
    if not files:
        raise ConfigError("no inputs to encode")
    loader = torch.utils.data.DataLoader(
        _ReadSafely(files, mod, read_opts),
        batch_size=batch_size,
        collate_fn=_CollateGood(mod),
        num_workers=num_workers,
        prefetch_factor=4 if num_workers else None,
        worker_init_fn=worker_init,
    )
    rows: list[torch.Tensor] = []
    kept: list[int] = []
    failed: list[dict[str, str]] = []

    def fail(i: int, problem: str) -> None:
        if not skip_errors:
            raise ReadError(files[i], problem + " (pass --skip-errors to skip such files)")
        failed.append({"source": describe_source(files[i]), "error": problem})
        print(f"skipped {describe_source(files[i])}: {problem}", file=sys.stderr)

    def embed(batch: Any) -> torch.Tensor:
        if aligned is not None:
            return aligned[0](move_to(batch, dev, non_blocking=True)).float().cpu()
        return pool(model.encode({modality: move_to(batch, dev, non_blocking=True)})).float().cpu()

    def keep(indices: list[int], vec: torch.Tensor) -> None:
        finite = torch.isfinite(vec).flatten(1).all(dim=1)
        for row, i in enumerate(indices):
            if not bool(finite[row]):
                fail(i, NON_FINITE)
        rows.append(vec[finite])
        kept.extend(i for row, i in enumerate(indices) if bool(finite[row]))

    def one_by_one(indices: list[int], samples: list[Any]) -> None:
        """A batch the tokenizer refused: each sample alone, so only the ones that do not fit fail."""
        for i, sample in zip(indices, samples):
            try:
                vec = embed(mod.collate([sample]))
            except Exception as exc:  # noqa: BLE001 - filtered by _unfit
                if not _unfit(exc):
                    raise
                fail(i, _problem(exc))
                continue
            keep([i], vec)

    with torch.inference_mode(), tqdm(total=len(files), desc=f"encode {modality}", unit="file", disable=quiet) as bar:
        for indices, batch, bad, refusal, samples in loader:
            if refusal is not None and not skip_errors:
                raise CollateError(refusal)
            for i, problem in bad:
                fail(i, problem)
            if refusal is not None:
                one_by_one(indices, samples)
            elif batch is not None:
                try:
                    vec = embed(batch)
                except Exception as exc:  # noqa: BLE001 - filtered by _unfit
                    if not _unfit(exc):
                        raise
                    one_by_one(indices, _reread(files, indices, mod, read_opts))
                else:
                    keep(indices, vec)
            bar.update(len(indices) + len(bad))
    embeddings = torch.cat(rows) if rows else torch.zeros(0, model.embed_dim)
    names = [describe_source(files[i]) for i in kept]
    result = EncodeResult(embeddings, names, failed)
    if out_path is not None:
        write_embeddings(out_path, embeddings)
        index = out_path.with_suffix(out_path.suffix + ".json")
        payload = {
            "modality": modality,
            "rows": names,
            "failed": failed,
            "shape": list(embeddings.shape),
            "pooling": pooling,
            "tokenizer": origin,
            "encoder": aligned[1] if aligned is not None else getattr(model.encoder, "identity").to_dict(),
        }
        atomic_write_text(index, json.dumps(payload, indent=2) + "\n")
        result.out, result.index = out_path, index
    return result


def _reread(files: list[Any], indices: list[int], modality: Modality, options: dict[str, Any]) -> list[Any]:
    """The samples of a batch the tokenizer refused, read again here (the worker kept only the batch)."""
    return [modality.read(files[i], **options) for i in indices]


def run_pooling(config: Any) -> str:
    """How the run's (first) head pools: its ``options.pooling``, else the heads' default ``cls``."""
    for head in config.heads.values():
        if "pooling" in head.options:
            return str(head.options["pooling"])
    return "cls"


def write_embeddings(path: Path, embeddings: torch.Tensor) -> None:
    if path.suffix == ".npy":
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.save(fh, embeddings.numpy())
    else:
        from safetensors.torch import save_file

        with atomic_path(path) as tmp:
            save_file({"embeddings": embeddings.contiguous()}, str(tmp))
