"""``metaframe.encode``: files → one embedding per file through the frozen encoder.

Reading and tokenizing run in DataLoader workers (prefetching), so they hide behind the
encoder. Batches group inputs of similar length (``metaframe.engine.bucketing``) so that a
variable-length modality pads little; rows are written in input order whatever the batches.
An unreadable file, a sample the tokenizer refuses (the batch is then tried one sample at a
time) or one whose embedding is not finite stops the run naming it, or with ``skip_errors`` is
reported and left out; no non-finite row is ever written.

``out`` is one file (``.safetensors`` / ``.npy`` and an index ``<out>.json``) or a folder of
shards written by one or many processes (``torchrun``), resumable: see
``metaframe.engine.encode_shards``.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import numpy as np
import torch

from metaframe_registry import ConfigError, ReadError
from metaframe_registry.errors import describe_source

from metaframe.atomic import atomic_path, atomic_write_text
from metaframe.device import move_to
from metaframe.heads import POOLINGS, Pool
from metaframe.modality import CollateError, Modality
from metaframe.threads import apply_threads, worker_init

from .bucketing import probe_lengths, sorted_batches
from .build import build_encoder, resolve_device
from .config import EncoderConfig

if TYPE_CHECKING:
    from metaframe.space import AlignedProjection

FILE_SUFFIXES = (".safetensors", ".npy")


@dataclass
class EncodeResult:
    """What ``encode`` produced. With a folder ``out`` the rows stay on disk (``embeddings`` is
    empty): read them with ``read_encoded(out)`` or ``metaframe.Index.from_encoded(out)``."""

    embeddings: torch.Tensor
    sources: list[str]
    failed: list[dict[str, str]] = field(default_factory=list)
    out: Path | None = None
    index: Path | None = None
    encoded: int = 0  # inputs this call (this process) embedded
    resumed: int = 0  # inputs found already encoded by an earlier, interrupted call (folder output)
    real_tokens: int = 0  # token positions the encoder saw that hold data ...
    padded_tokens: int = 0  # ... and that are padding

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def padding_fraction(self) -> float:
        total = self.real_tokens + self.padded_tokens
        return self.padded_tokens / total if total else 0.0


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


def expand_inputs(sources: Sequence[Any], modality: Modality, skip_errors: bool, column: str | None = None) -> list[Any]:
    """Files and folders (``expand_sources``), with ``column`` each manifest's rows (``ManifestCell``),
    or every sample of WebDataset ``.tar`` shards."""
    from .encode_shards import is_tar_input, say_skipped
    from .manifests import expand_manifests
    from .shards import expand_shards, index_shard

    if column is not None or not is_tar_input(sources):
        return expand_sources(expand_manifests(sources, column), modality)
    return [s for tar in expand_shards(list(sources)) for s in index_shard(tar, skip_errors=skip_errors, on_skip=say_skipped)]


class SourceReader:
    """One source → one sample, picklable for DataLoader workers: a file, an object, a shard member
    (``MemberRef``), a manifest's cell (``ManifestCell``), or a WebDataset sample (``IndexedSample``)
    through its member for the modality."""

    def __init__(self, modality: Modality, options: dict[str, Any], member: str | None = None) -> None:
        self.modality = modality
        self.options = options
        self.member = member

    def __call__(self, source: Any) -> Any:
        from .manifests import ManifestCell
        from .shards import IndexedSample, member_for, modality_members, read_source

        if isinstance(source, ManifestCell):
            source = source.source
        if isinstance(source, IndexedSample):
            manifest = self.modality.manifest
            ext = member_for(manifest.name, list(source.members), source.name, configured=self.member,
                             candidates=modality_members(manifest.name, manifest.extensions))
            source = source.members[ext]
        return read_source(self.modality, source, self.options)


def source_name(source: Any) -> str:
    """A source as the index and messages name it: a path, ``shard.tar:key``, ``manifest.csv:LINE`` /
    ``manifest.parquet[ROW]``, or the object's type."""
    from .manifests import ManifestCell
    from .shards import IndexedSample, MemberRef

    if isinstance(source, (IndexedSample, MemberRef, ManifestCell)):
        return source.name
    return describe_source(source)


class _ReadSafely(torch.utils.data.Dataset):
    """Returns ``(index, sample, None)`` or ``(index, None, problem)``: errors travel as data."""

    def __init__(self, sources: list[Any], read: SourceReader) -> None:
        self.sources = sources
        self.read = read

    def __len__(self) -> int:
        return len(self.sources)

    def __getitem__(self, i: int) -> tuple[int, Any, str | None]:
        try:
            return i, self.read(self.sources[i]), None
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


@dataclass
class Prepared:
    """The model and options one ``encode`` call embeds with (the same on every rank)."""

    model: Any
    modality: Modality
    name: str
    pool: Pool
    pooling: str
    read_options: dict[str, Any]
    origin: str
    device: torch.device
    aligned: "AlignedProjection | None" = None  # an aligned run: its projection into the shared space

    @property
    def encoder_identity(self) -> dict[str, Any]:
        """The identity stored with the vectors: an aligned run's space, else the encoder's."""
        if self.aligned is not None:
            return self.aligned.identity
        return getattr(self.model.encoder, "identity").to_dict()

    @property
    def width(self) -> int:
        if self.aligned is not None:
            return self.aligned.dim
        return self.pool.out_features(self.model.embed_dim)

    def vectors(self, encoded: Any) -> torch.Tensor:
        """The encoder's output as one row per sample: pooled, or projected into an aligned run's space."""
        return self.aligned.project(encoded) if self.aligned is not None else self.pool(encoded)


@dataclass
class Embedded:
    """One loader batch's outcome: the rows kept (by input index) and the inputs that failed."""

    indices: list[int]
    vectors: torch.Tensor
    failed: list[tuple[int, str]]

    @property
    def seen(self) -> int:
        return len(self.indices) + len(self.failed)


class Embedder:
    """Runs batches through the model; a bad input stops the run naming it, or is skipped."""

    def __init__(self, p: Prepared, files: list[Any], skip_errors: bool, say: bool = True, member: str | None = None) -> None:
        self.p = p
        self.files = files
        self.read = SourceReader(p.modality, p.read_options, member)
        self.skip_errors = skip_errors
        self.say = say
        self.real_tokens = 0
        self.padded_tokens = 0

    def loader(self, batches: list[list[int]], num_workers: int) -> torch.utils.data.DataLoader:
        return torch.utils.data.DataLoader(
            _ReadSafely(self.files, self.read),
            batch_sampler=batches,  # type: ignore[arg-type]  # a list of index lists, in order
            collate_fn=_CollateGood(self.p.modality),
            num_workers=num_workers,
            prefetch_factor=4 if num_workers else None,
            worker_init_fn=worker_init,
        )

    def _fail(self, i: int, problem: str, failed: list[tuple[int, str]]) -> None:
        if not self.skip_errors:
            raise ReadError(source_name(self.files[i]), problem + " (pass --skip-errors to skip such files)")
        failed.append((i, problem))
        if self.say:
            print(f"skipped {source_name(self.files[i])}: {problem}", file=sys.stderr)

    def embed(self, batch: Any, count: int) -> torch.Tensor:
        p = self.p
        encoded = p.model.encode({p.name: move_to(batch, p.device, non_blocking=True)})
        vec = p.vectors(encoded).float().cpu()
        if vec.shape[0] != count:
            raise ConfigError(
                f"modality {p.name!r}: {count} input(s) gave {vec.shape[0]} embeddings; a source that holds several "
                "samples (a .jsonl / .csv text file, split=lines) has no single row: list its samples as inputs"
            )
        mask = encoded.mask[:, 1:]
        real = int(mask.sum())
        self.real_tokens += real
        self.padded_tokens += mask.numel() - real
        return vec

    def _keep(self, indices: list[int], vec: torch.Tensor, out: Embedded) -> None:
        finite = torch.isfinite(vec).flatten(1).all(dim=1)
        for row, i in enumerate(indices):
            if not bool(finite[row]):
                self._fail(i, NON_FINITE, out.failed)
        out.indices += [i for row, i in enumerate(indices) if bool(finite[row])]
        out.vectors = torch.cat([out.vectors, vec[finite]])

    def _one_by_one(self, indices: list[int], samples: list[Any], out: Embedded) -> None:
        """A batch the tokenizer refused: each sample alone, so only the ones that do not fit fail."""
        for i, sample in zip(indices, samples):
            try:
                vec = self.embed(self.p.modality.collate([sample]), 1)
            except ConfigError:
                raise
            except Exception as exc:  # noqa: BLE001 - filtered by _unfit
                if not _unfit(exc):
                    raise
                self._fail(i, _problem(exc), out.failed)
                continue
            self._keep([i], vec, out)

    def run(self, loader: torch.utils.data.DataLoader) -> Iterator[Embedded]:
        width = self.p.width
        for indices, batch, bad, refusal, samples in loader:
            out = Embedded([], torch.zeros(0, width), [])
            if refusal is not None and not self.skip_errors:
                raise CollateError(refusal)
            for i, problem in bad:
                self._fail(i, problem, out.failed)
            if refusal is not None:
                self._one_by_one(indices, samples, out)
            elif batch is not None:
                try:
                    vec = self.embed(batch, len(indices))
                except ConfigError:
                    raise
                except Exception as exc:  # noqa: BLE001 - filtered by _unfit
                    if not _unfit(exc):
                        raise
                    self._one_by_one(indices, [self.read(self.files[i]) for i in indices], out)
                else:
                    self._keep(indices, vec, out)
            yield out


def prepare(
    modality: str,
    *,
    run: str | Path | None,
    encoder: torch.nn.Module | None,
    encoder_config: EncoderConfig | None,
    tokenizer_options: dict[str, Any] | None,
    reader_options: dict[str, Any] | None,
    pooling: str | None,
    device: torch.device,
    num_workers: int,
    token_merging: Any,
    say: bool = True,
) -> Prepared:
    """The model (the run's tokenizer, or a fresh one), pooling and reader options of one call."""
    from metaframe.api import get_modality
    from metaframe.merging import as_token_merging
    from metaframe.model import MetaModel

    from .run import load_run

    mod = get_modality(modality)
    if run is not None:
        model: MetaModel = load_run(run, encoder=encoder, device=str(device), token_merging=token_merging)
        info = model.run_info  # type: ignore[attr-defined]
        if modality not in model.tokenizers:
            raise ConfigError(f"{run}: the run has no {modality!r} tokenizer; it has {', '.join(model.modalities)}")
        read_opts = {**info.config.modalities[modality].reader, **(reader_options or {})}
        origin = f"tokenizer trained in {run} ({info.checkpoint.name})"
    else:
        if say:
            print(
                f"warning: no run given: the {modality!r} tokenizer is FRESHLY INITIALISED (random weights); these "
                "embeddings reflect only the frozen encoder. Pass --run RUN_DIR to use a trained tokenizer.",
                file=sys.stderr,
            )
        enc = encoder if encoder is not None else build_encoder(encoder_config or EncoderConfig())
        tok = mod.build_tokenizer(embed_dim=enc.embed_dim, **(tokenizer_options or {}))
        model = MetaModel(enc, {modality: tok}).to(device).eval()
        configured = encoder_config.token_merging if encoder_config is not None else None
        model.token_merging = as_token_merging(token_merging if token_merging is not None else configured)
        read_opts = dict(reader_options or {})
        origin = "freshly initialised tokenizer (random weights)"
    if pooling is None:
        pooling = run_pooling(model.run_info.config) if run is not None else "cls"  # type: ignore[attr-defined]
    apply_threads(num_workers, model.run_info.config.threads if run is not None else "auto")  # type: ignore[attr-defined]
    from metaframe.space import aligned_projection

    aligned = aligned_projection(model, modality) if run is not None else None
    return Prepared(model, mod, modality, Pool(pooling, modality), pooling, read_opts, origin, device, aligned)


def batch_order(files: list[Any], indices: Sequence[int], batch_size: int, bucket_by_length: bool) -> list[list[int]]:
    """The batches over ``indices``: by length (``bucket_by_length``) or in input order."""
    if bucket_by_length:
        return sorted_batches(indices, probe_lengths(files), batch_size)
    idx = list(indices)
    return [idx[i : i + batch_size] for i in range(0, len(idx), batch_size)]


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
    bucket_by_length: bool = True,
    shard_size: int = 1024,
    member: str | None = None,
    column: str | None = None,
    callback: Callable[[dict[str, Any]], None] | None = None,
) -> EncodeResult:
    """Embeddings ``[N, D]`` for ``sources`` (files, folders or in-memory objects).

    With ``run``: the run's trained tokenizer (and its encoder). Without: a freshly initialised
    tokenizer — a warning says so. ``out`` (``.safetensors`` or ``.npy``) is written atomically
    with an index ``<out>.json``; ``out`` naming a folder writes shards of ``shard_size`` inputs,
    one process or many under ``torchrun`` (each rank its share), resumable, with one
    ``index.parquet`` at the end (``metaframe.engine.encode_shards``; ``callback(event)`` is
    called after each shard this process writes). ``pooling``: one of ``metaframe.heads.POOLINGS``
    (cls, mean, max, cls+max+mean); by default the run's head's pooling (``cls`` without a run).
    ``device``: auto (CUDA when available, else CPU), cpu, cuda, cuda:N or mps.
    ``token_merging`` (``TokenMerging`` or an int r): merge tokens in the frozen encoder (by
    default the run config's, or ``encoder_config.token_merging`` without a run).
    ``bucket_by_length``: batch inputs of similar length (a file's size) together, so that
    variable-length modalities pad less; the rows come out in input order either way.
    ``sources`` may be WebDataset ``.tar`` shards (paths, brace patterns, globs): each sample is
    one input, read from its member for the modality (by extension, or the extension ``member``).
    With ``column``, each source that is a manifest (``.csv``, ``.jsonl`` / ``.ndjson``, ``.parquet``)
    is one input per row: the row's ``column`` cell, resolved as training resolves cells (a path
    relative to the manifest when that file exists, else the value), named ``manifest.csv:LINE`` or
    ``manifest.parquet[ROW]``; without it a manifest is a file like any other.
    """
    from tqdm.auto import tqdm

    if pooling is not None and pooling not in POOLINGS:
        raise ConfigError(f"pooling: {pooling!r} — must be one of {', '.join(POOLINGS)}")
    if batch_size < 1:
        raise ConfigError(f"batch_size: {batch_size} — must be >= 1")
    out_path = Path(out) if out is not None else None
    sharded = out_path is not None and is_folder_output(out_path)
    if out_path is not None and not sharded and out_path.suffix not in FILE_SUFFIXES:
        raise ConfigError(
            f"--out: {str(out_path)!r} — must end with .safetensors or .npy (one file), or name a folder "
            "(sharded output: a path without a suffix, or an existing folder)"
        )
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not sharded:
        raise ConfigError(
            f"--out: {str(out_path) if out_path is not None else 'not given'} — under torchrun ({world} processes) --out "
            "must name a folder, where each process writes its own shards (e.g. --out embeddings/)"
        )
    dev = resolve_device(device)
    if sharded:
        from .encode_shards import encode_to_folder

        return encode_to_folder(
            modality, sources, out_path,  # type: ignore[arg-type]
            device=dev, shard_size=shard_size, batch_size=batch_size, num_workers=num_workers,
            skip_errors=skip_errors, quiet=quiet, bucket_by_length=bucket_by_length, callback=callback, member=member,
            column=column,
            options=dict(run=run, encoder=encoder, encoder_config=encoder_config, tokenizer_options=tokenizer_options,
                         reader_options=reader_options, pooling=pooling, token_merging=token_merging),
        )
    p = prepare(
        modality, run=run, encoder=encoder, encoder_config=encoder_config, tokenizer_options=tokenizer_options,
        reader_options=reader_options, pooling=pooling, device=dev, num_workers=num_workers, token_merging=token_merging,
    )
    files = expand_inputs(sources, p.modality, skip_errors, column)
    if not files:
        raise ConfigError("no inputs to encode")
    embedder = Embedder(p, files, skip_errors, member=member)
    loader = embedder.loader(batch_order(files, range(len(files)), batch_size, bucket_by_length), num_workers)
    kept: list[int] = []
    rows: list[torch.Tensor] = []
    failed: list[tuple[int, str]] = []
    with torch.inference_mode(), tqdm(total=len(files), desc=f"encode {modality}", unit="file", disable=quiet) as bar:
        for done in embedder.run(loader):
            kept += done.indices
            rows.append(done.vectors)
            failed += done.failed
            bar.update(done.seen)
    order = np.argsort(np.asarray(kept, dtype=np.int64), kind="stable")
    embeddings = torch.cat(rows)[torch.from_numpy(order)] if kept else torch.zeros(0, p.width)
    names = [source_name(files[kept[j]]) for j in order]
    failures = [{"source": source_name(files[i]), "error": e} for i, e in sorted(failed)]
    result = EncodeResult(embeddings, names, failures, encoded=len(kept),
                          real_tokens=embedder.real_tokens, padded_tokens=embedder.padded_tokens)
    if out_path is not None:
        write_embeddings(out_path, embeddings)
        index = out_path.with_suffix(out_path.suffix + ".json")
        payload = {
            "modality": modality,
            "rows": names,
            "failed": failures,
            "shape": list(embeddings.shape),
            "pooling": p.pooling,
            "tokenizer": p.origin,
            "encoder": p.encoder_identity,
        }
        atomic_write_text(index, json.dumps(payload, indent=2) + "\n")
        result.out, result.index = out_path, index
    return result


def is_folder_output(path: Path) -> bool:
    """``--out`` names a folder of shards: an existing folder, or a path without a suffix."""
    return path.is_dir() or (path.suffix == "" and not path.exists())


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
