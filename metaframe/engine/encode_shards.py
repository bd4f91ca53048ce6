"""Sharded, resumable ``encode`` output: one folder, any number of processes, one index at the end.

``metaframe encode MODALITY INPUTS --out DIR`` (or ``torchrun --nproc-per-node N -m metaframe
encode ... --out DIR``) cuts the input list — the same expanded, ordered list on every rank —
into shards of ``shard_size`` consecutive inputs: shard ``k`` holds inputs
``[k * shard_size, (k + 1) * shard_size)``. From WebDataset ``.tar`` shards
(``data/shard-{000000..000127}.tar``) output shard ``k`` is input shard ``k``, whatever its
number of samples; each rank indexes only its own tars (``metaframe.engine.shards``). The shards
still to do are dealt out to the ranks in turn, so each input is embedded once, by one process.
Per shard a rank writes, each file atomically (``metaframe.atomic``):

    DIR/embeddings-rank{r}-{k:06d}.safetensors   the rows [n, D] of the inputs that embedded
    DIR/embeddings-rank{r}-{k:06d}.parquet       one record per input: position, source, shard,
                                                 offset, modality, encoder, error (written last:
                                                 the shard is complete once it exists)

``DIR/encode.json`` records the fingerprint of the run (inputs, tokenizer weights, encoder,
pooling, reader options, shard size): the same command finds the complete shards and does only
the others, after a kill at any point, with any number of processes; a different command is
refused. When every shard is complete, rank 0 (after a barrier), or ``metaframe encode
--finalize DIR``, writes ``DIR/index.parquet`` (one record per embedded input, in input order,
pointing at its shard file and row, ``id`` its position in the whole input; the vectors are
not copied) and ``DIR/index.json``
(counts, failures, encoder, pooling). ``read_encoded(DIR)`` reads it all back.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from metaframe_registry import ConfigError, MetaframeError

from metaframe.atomic import atomic_path, atomic_write_text

from .distributed import Dist, barrier, broadcast_object, collective_errors, init_from_env

FORMAT = "metaframe-encode/1"
MANIFEST = "encode.json"
INDEX = "index.parquet"
SUMMARY = "index.json"
BARRIER_TIMEOUT_S = 3600.0
"""How long a rank that finished waits for the others before the final index (they may hold a
shard more each, on a busy machine)."""

INDEX_COLUMNS = ("id", "source", "shard", "offset", "modality", "encoder")


class IncompleteEncodeError(MetaframeError):
    """A folder whose shards are not all written yet (an interrupted or still running encode)."""


def shard_stem(rank: int, k: int) -> str:
    return f"embeddings-rank{rank}-{k:06d}"


@dataclass(frozen=True)
class Plan:
    """The fixed cut of the work into shards: spans of ``size`` file inputs, or one per input tar."""

    files: list[Any]
    size: int
    tars: list[str]

    @property
    def shards(self) -> int:
        return len(self.tars) if self.tars else -(-len(self.files) // self.size)

    def inputs(self, k: int, skip_errors: bool) -> list[Any]:
        """Shard ``k``'s inputs, in order (a tar's samples: indexed here, by the rank that encodes it)."""
        if not self.tars:
            return self.files[k * self.size : (k + 1) * self.size]
        from .shards import index_shard

        return list(index_shard(self.tars[k], skip_errors=skip_errors, on_skip=say_skipped))


def say_skipped(error: Exception) -> None:
    """A corrupt tar left out under ``--skip-errors`` (the message names the shard and key)."""
    print(f"skipped: {error}", file=sys.stderr)


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise ConfigError(
            "encoding to a folder writes Parquet indexes and needs pyarrow: pip install 'metaframe[parquet]' (or pyarrow)"
        ) from None
    return pyarrow


def fingerprint(prepared: Any, plan: Plan, member: str | None) -> dict[str, Any]:
    """What makes two encodes of one folder the same: a resume must match it exactly."""
    from .encoding import source_name

    if plan.tars:
        listing = [f"{t}\t{_file_state(t)}" for t in plan.tars]
    else:
        listing = [_listed(f, source_name(f)) for f in plan.files]
    weights = hashlib.sha256()
    for key, value in sorted(prepared.model.trainable_state_dict().items()):
        weights.update(key.encode())
        weights.update(value.detach().float().cpu().contiguous().numpy().tobytes())
    return {
        "modality": prepared.name,
        "inputs": len(plan.tars or plan.files),
        "inputs_sha256": hashlib.sha256("\n".join(listing).encode()).hexdigest(),
        "input_shards": bool(plan.tars),
        "shard_size": None if plan.tars else plan.size,
        "shards": plan.shards,
        "member": member,
        "tokenizer_sha256": weights.hexdigest(),
        "encoder_sha256": prepared.encoder_identity.get("sha256"),
        "pooling": prepared.pooling,
        "reader_options": json.loads(json.dumps(prepared.read_options, sort_keys=True, default=str)),
        "token_merging": repr(getattr(prepared.model, "token_merging", None)),
    }


def _file_state(path: Any) -> str:
    """A file's size and modification time: a file rewritten between a kill and a resume makes
    another encode (its rows would otherwise mix old and new embeddings)."""
    st = os.stat(path)
    return f"{st.st_size}\t{st.st_mtime_ns}"


def _listed(source: Any, name: str) -> str:
    """A file by its name, size and modification time; a manifest's cell by its row and its value
    too, so that an edited manifest (other paths or texts in the same rows) is another encode."""
    from .manifests import ManifestCell

    if not isinstance(source, ManifestCell):
        if isinstance(source, (str, os.PathLike)) and os.path.isfile(source):
            return f"{name}\t{_file_state(source)}"
        return name
    value = source.source
    if isinstance(value, np.ndarray):
        value = value.tobytes()
    data = value if isinstance(value, (bytes, bytearray)) else str(value).encode()
    return f"{name}\t{hashlib.sha256(data).hexdigest()}"


def _check_manifest(folder: Path, fp: dict[str, Any]) -> None:
    path = folder / MANIFEST
    if not path.is_file():
        return
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))["fingerprint"]
    except (ValueError, KeyError) as exc:
        raise ConfigError(f"{path}: not a metaframe encode manifest ({type(exc).__name__}: {exc})") from None
    changed = [k for k in sorted(set(fp) | set(recorded)) if fp.get(k) != recorded.get(k)]
    if changed:
        detail = "; ".join(f"{k}: {recorded.get(k)!r} then, {fp.get(k)!r} now" for k in changed)
        raise ConfigError(
            f"{folder}: holds an encode of other inputs or another model ({detail}); resume only with the same "
            "command, or choose another --out folder"
        )


def complete_shards(folder: Path) -> dict[int, Path]:
    """Shard number → its record file, for every shard whose records were written (any rank)."""
    found: dict[int, Path] = {}
    for path in folder.glob("embeddings-rank*-*.parquet"):
        try:
            found[int(path.stem.rsplit("-", 1)[1])] = path
        except ValueError:
            continue
    return found


def is_tar_input(sources: Sequence[Any]) -> bool:
    """Inputs that are WebDataset shards (``.tar`` paths or brace patterns), encoded shard by shard."""
    from .shards import is_shard_spec

    return bool(sources) and all(isinstance(s, (str, PathLike)) for s in sources) and is_shard_spec(list(sources))


def encode_to_folder(
    modality: str,
    sources: Sequence[Any],
    folder: Path,
    *,
    device: torch.device,
    shard_size: int,
    batch_size: int,
    num_workers: int,
    skip_errors: bool,
    quiet: bool,
    bucket_by_length: bool,
    callback: Callable[[dict[str, Any]], None] | None,
    member: str | None = None,
    column: str | None = None,
    options: dict[str, Any],
) -> Any:
    """This process's share of the shards (see the module docstring); rank 0 writes the index."""
    from .encoding import EncodeResult, Embedder, batch_order, expand_inputs, prepare

    if shard_size < 1:
        raise ConfigError(f"--shard-size: {shard_size} — must be >= 1")
    _pyarrow()
    import torch.distributed as dist

    ours = not (dist.is_available() and dist.is_initialized())  # a caller's process group is left as it is
    info, device = init_from_env(device, BARRIER_TIMEOUT_S)
    p = prepare(modality, device=device, num_workers=num_workers, say=info.is_main, **options)
    if column is None and is_tar_input(sources):
        from .shards import expand_shards

        plan = Plan([], shard_size, expand_shards(list(sources)))
    else:
        plan = Plan(expand_inputs(sources, p.modality, skip_errors, column), shard_size, [])
        if not plan.files:
            raise ConfigError("no inputs to encode")
    fp = fingerprint(p, plan, member)
    about = {"encoder": p.encoder_identity, "tokenizer": p.origin}
    with collective_errors(info, BARRIER_TIMEOUT_S):
        todo = _agree(folder, fp, about, plan, info)
    mine = todo[info.rank :: info.world]
    units = {k: plan.inputs(k, skip_errors) for k in mine}
    files = [src for k in mine for src in units[k]]
    starts = np.cumsum([0] + [len(units[k]) for k in mine]).tolist()
    embedder = Embedder(p, files, skip_errors, member=member)
    batches = [b for j, k in enumerate(mine) for b in batch_order(files, range(starts[j], starts[j + 1]), batch_size, bucket_by_length)]
    writer = _ShardWriter(folder, info.rank, {k: (starts[j], len(units[k])) for j, k in enumerate(mine)}, files, modality,
                          str(p.encoder_identity.get("sha256")), callback)
    bar = _Progress(folder, plan, files_total=None if plan.tars else len(plan.files), todo=todo, modality=modality,
                    disable=quiet or not info.is_main)
    with torch.inference_mode(), bar:
        writer.write_empty()
        if batches:
            for done in embedder.run(embedder.loader(batches, num_workers)):
                wrote = writer.add(done)
                bar.update(done.seen, refresh_from_files=wrote)
        with collective_errors(info, BARRIER_TIMEOUT_S):
            barrier(info)  # every shard is written
        bar.finish()
    if info.enabled and ours:
        dist.destroy_process_group()
    import pyarrow.parquet as pq

    earlier, now = complete_shards(folder), set(todo)  # inputs of the shards an earlier run wrote
    resumed = sum(pq.read_metadata(path).num_rows for k, path in earlier.items() if k < plan.shards and k not in now)
    result = EncodeResult(
        torch.zeros(0, p.width), [], writer.failures, out=folder, encoded=writer.encoded,
        resumed=resumed, real_tokens=embedder.real_tokens, padded_tokens=embedder.padded_tokens,
    )
    if info.is_main:
        result.index = finalize_encoded(folder)
        result.failed = json.loads((folder / SUMMARY).read_text(encoding="utf-8"))["failed"]
    return result


def _agree(folder: Path, fp: dict[str, Any], about: dict[str, Any], plan: Plan, info: Dist) -> list[int]:
    """Rank 0 checks / writes the manifest and lists the shards to do; every rank gets the same list.

    A rank whose own fingerprint differs from rank 0's (another seed, other files) stops the run:
    its shards would not match the others'."""
    answer: tuple[str, Any]
    if info.is_main:
        try:
            _check_manifest(folder, fp)
            if not (folder / MANIFEST).is_file():
                payload = {"format": FORMAT, "fingerprint": fp, **about}
                atomic_write_text(folder / MANIFEST, json.dumps(payload, indent=2) + "\n")
            done = complete_shards(folder)
            answer = ("ok", ([k for k in range(plan.shards) if k not in done], fp))
        except MetaframeError as exc:
            answer = ("error", str(exc))
    else:
        answer = ("", None)
    answer = broadcast_object(answer, info)
    if answer[0] == "error":
        raise ConfigError(answer[1])
    todo, theirs = answer[1]
    if theirs != fp:
        changed = ", ".join(k for k in sorted(fp) if fp.get(k) != theirs.get(k))
        raise ConfigError(
            f"rank {info.rank} of {info.world}: its inputs or model differ from rank 0's ({changed}); every process "
            "must see the same files and build the same tokenizer (seed it the same way: metaframe encode --seed)"
        )
    return list(todo)


class _ShardWriter:
    """Collects rows by shard and writes a shard the moment its last input is done.

    ``spans[k] = (start, count)``: shard ``k``'s inputs are ``files[start : start + count]``."""

    def __init__(
        self, folder: Path, rank: int, spans: dict[int, tuple[int, int]], files: list[Any], modality: str, encoder: str,
        callback: Callable[[dict[str, Any]], None] | None,
    ) -> None:
        self.folder, self.rank, self.spans, self.files = folder, rank, spans, files
        self.modality, self.encoder, self.callback = modality, encoder, callback
        self.owner = np.zeros(len(files), dtype=np.int64)
        for k, (start, count) in spans.items():
            self.owner[start : start + count] = k
        self.rows: dict[int, dict[int, torch.Tensor]] = {}
        self.errors: dict[int, dict[int, str]] = {}
        self.encoded = 0
        self.failures: list[dict[str, str]] = []

    def write_empty(self) -> None:
        """A tar with no (readable) sample is complete at once: an empty shard says so."""
        for k, (_, count) in self.spans.items():
            if count == 0:
                self._write(k, {}, {})

    def add(self, done: Any) -> bool:
        """Take one batch's outcome; True when it completed (and wrote) a shard."""
        for j, i in enumerate(done.indices):
            self.rows.setdefault(int(self.owner[i]), {})[i] = done.vectors[j]
        for i, problem in done.failed:
            self.errors.setdefault(int(self.owner[i]), {})[i] = problem
        wrote = False
        for k in sorted(set(self.rows) | set(self.errors)):
            if len(self.rows.get(k, {})) + len(self.errors.get(k, {})) == self.spans[k][1]:
                self._write(k, self.rows.pop(k, {}), self.errors.pop(k, {}))
                wrote = True
        return wrote

    def _write(self, k: int, rows: dict[int, torch.Tensor], errors: dict[int, str]) -> None:
        from safetensors.torch import save_file

        from .encoding import source_name

        pa = _pyarrow()
        import pyarrow.parquet as pq

        stem = shard_stem(self.rank, k)
        kept = sorted(rows)
        vectors = torch.stack([rows[i] for i in kept]) if kept else torch.zeros(0, 0)
        with atomic_path(self.folder / f"{stem}.safetensors") as tmp:
            save_file({"embeddings": vectors.contiguous()}, str(tmp), metadata={"format": FORMAT, "shard": str(k)})
        offsets = {i: row for row, i in enumerate(kept)}
        start, count = self.spans[k]
        ids = range(start, start + count)
        table = pa.table({
            "position": pa.array([i - start for i in ids], pa.int64()),
            "source": pa.array([source_name(self.files[i]) for i in ids], pa.string()),
            "shard": pa.array([f"{stem}.safetensors" if i in offsets else None for i in ids], pa.string()),
            "offset": pa.array([offsets.get(i) for i in ids], pa.int64()),
            "modality": pa.array([self.modality] * count, pa.string()),
            "encoder": pa.array([self.encoder] * count, pa.string()),
            "error": pa.array([errors.get(i) for i in ids], pa.string()),
        })
        with atomic_path(self.folder / f"{stem}.parquet") as tmp:
            pq.write_table(table, str(tmp))
        self.encoded += len(kept)
        self.failures += [{"source": source_name(self.files[i]), "error": errors[i]} for i in sorted(errors)]
        if self.callback is not None:
            self.callback({"kind": "shard", "rank": self.rank, "shard": k, "rows": len(kept), "failed": len(errors)})


class _Progress:
    """Rank 0's bar over all the work: its own batches, and the other ranks' shards as their files appear.

    Counted in files for file inputs; from WebDataset shards (whose sample counts nobody knows before
    reading them) in shards."""

    def __init__(self, folder: Path, plan: Plan, files_total: int | None, todo: list[int], modality: str, disable: bool) -> None:
        from tqdm.auto import tqdm

        self.folder, self.plan, self.disable, self.by_files = folder, plan, disable, files_total is not None
        total = files_total if files_total is not None else plan.shards
        initial = sum(self._weight(k) for k in range(plan.shards) if k not in set(todo))
        unit = "file" if self.by_files else "shard"
        self.bar = tqdm(total=total, initial=initial, desc=f"encode {modality}", unit=unit, disable=disable)
        self.own_partial = 0
        self.last_scan = 0.0

    def _weight(self, k: int) -> int:
        return len(self.plan.files[k * self.plan.size : (k + 1) * self.plan.size]) if self.by_files else 1

    def __enter__(self) -> "_Progress":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.bar.close()

    def update(self, n: int, refresh_from_files: bool) -> None:
        if self.disable:
            return
        if self.by_files:
            self.own_partial += n
            self.bar.update(n)
        if refresh_from_files or time.monotonic() - self.last_scan > 10:
            if refresh_from_files:
                self.own_partial = 0
            self._scan()

    def _scan(self) -> None:
        self.last_scan = time.monotonic()
        done = sum(self._weight(k) for k in complete_shards(self.folder) if k < self.plan.shards)
        self.bar.n = max(self.bar.n, min(self.bar.total, done + self.own_partial))
        self.bar.refresh()

    def finish(self) -> None:
        if not self.disable:
            self.bar.n = self.bar.total
            self.bar.refresh()


# -- the final index, and reading it back -------------------------------------------------


def finalize_encoded(folder: str | Path) -> Path:
    """Write ``index.parquet`` and ``index.json`` over every shard of ``folder``; the index path.

    Runs after an encode by itself (rank 0); ``metaframe encode --finalize DIR`` runs it alone. An
    incomplete folder is an ``IncompleteEncodeError`` listing the missing shards."""
    _pyarrow()
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = Path(folder)
    manifest = _read_manifest(folder)
    fp = manifest["fingerprint"]
    shards = int(fp["shards"])
    done = complete_shards(folder)
    missing = [k for k in range(shards) if k not in done]
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (" …" if len(missing) > 10 else "")
        raise IncompleteEncodeError(
            f"{folder}: {len(missing)} of {shards} shards are not written yet (shards {shown}); run the same "
            "encode command again to finish them"
        )
    _remove_orphans(folder, done)
    table = pa.concat_tables([pq.read_table(done[k]) for k in range(shards)])
    table = table.add_column(0, "id", pa.array(np.arange(table.num_rows, dtype=np.int64)))  # position in the whole input
    errors = table.column("error").to_pylist()
    ok = table.filter(pa.array([e is None for e in errors]))
    failed = [{"source": s, "error": e} for s, e in zip(table.column("source").to_pylist(), errors) if e is not None]
    index = folder / INDEX
    with atomic_path(index) as tmp:
        pq.write_table(ok.select(list(INDEX_COLUMNS)), str(tmp))
    summary = {
        "format": FORMAT,
        "modality": fp["modality"],
        "rows": ok.num_rows,
        "failed": failed,
        "shards": [f"{done[k].stem}.safetensors" for k in range(shards)],
        "pooling": fp["pooling"],
        "encoder": manifest.get("encoder"),
        "tokenizer": manifest.get("tokenizer"),
        "fingerprint": fp,
    }
    atomic_write_text(folder / SUMMARY, json.dumps(summary, indent=2) + "\n")
    return index


def _remove_orphans(folder: Path, done: dict[int, Path]) -> None:
    """Vectors a killed process wrote without their records (it died between the two files): a
    resume by another rank rewrote that shard under its own name, so nothing points at them."""
    for path in folder.glob("embeddings-rank*-*.safetensors"):
        try:
            k = int(path.stem.rsplit("-", 1)[1])
        except ValueError:
            continue
        if k in done and done[k].stem != path.stem:
            path.unlink(missing_ok=True)


def _read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    if not path.is_file():
        raise ConfigError(f"{folder}: no {MANIFEST} here; `metaframe encode MODALITY INPUTS --out {folder}` writes it")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r}, expected {FORMAT!r}")
        int(data["fingerprint"]["shards"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: not a metaframe encode manifest ({type(exc).__name__}: {exc})") from None
    return data


@dataclass
class Encoded:
    """A finished folder read back: ``embeddings[j]`` belongs to ``ids[j]`` / ``sources[j]``."""

    embeddings: torch.Tensor
    ids: list[int]
    sources: list[str]
    summary: dict[str, Any]


def read_encoded(folder: str | Path) -> Encoded:
    """Every row of a finished (finalized) encode folder, in input order."""
    _pyarrow()
    import pyarrow.parquet as pq
    from safetensors.torch import load_file

    folder = Path(folder)
    index, summary = folder / INDEX, folder / SUMMARY
    if not (index.is_file() and summary.is_file()):
        raise IncompleteEncodeError(
            f"{folder}: no {INDEX} yet; finish the encode (run the same command again) or `metaframe encode --finalize {folder}`"
        )
    table = pq.read_table(index, columns=["id", "source", "shard", "offset"])
    shards = table.column("shard").to_pylist()
    offsets = np.asarray(table.column("offset").to_pylist(), dtype=np.int64)
    loaded = {name: load_file(str(folder / name))["embeddings"] for name in sorted(set(shards))}
    if not shards:
        return Encoded(torch.zeros(0, 0), [], [], json.loads(summary.read_text(encoding="utf-8")))
    width = next(iter(loaded.values())).shape[1]
    embeddings = torch.zeros(len(shards), width)
    names = np.asarray(shards, dtype=object)
    for name, vectors in loaded.items():
        where = np.flatnonzero(names == name)
        embeddings[torch.from_numpy(where)] = vectors[torch.from_numpy(offsets[where])].float()
    return Encoded(
        embeddings, table.column("id").to_pylist(), table.column("source").to_pylist(),
        json.loads(summary.read_text(encoding="utf-8")),
    )
