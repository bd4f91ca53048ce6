"""WebDataset tar shards: shard lists, sequential sample streams, disjoint splits, member decoding.

Public interface (stable; ``metaframe encode`` and the training data sources use it)::

    expand_shards(spec: str | Sequence[str]) -> list[str]
        brace patterns ``data/shard-{000000..000127}.tar`` (zero padding kept), ``{a,b}`` lists,
        globs (``data/*.tar``, sorted), or a list of any of these; a missing shard is a
        ConfigError naming it (and how many of the pattern's shards are missing).
    @dataclass ShardSample: key: str; shard: str; members: dict[str, bytes]
        members by extension: lower case, no leading dot, everything after the first dot of the
        member's file name (WebDataset's convention: ``000017.seg.png`` → key ``000017``, ``seg.png``).
    iter_shard_samples(shards, *, skip_errors=False, on_skip=None) -> Iterator[ShardSample]
        sequential over the given shards, in order, one open file at a time. A tar that cannot be
        read (truncated, a bad header) raises ReadError naming the shard and the key where it
        broke; with ``skip_errors`` it is reported (``on_skip(error)``, default a ShardSkipWarning)
        and the rest of that shard is skipped.
    split_shards(shards, *, rank, world_size, worker_id, num_workers, seed, epoch) -> list[str]
        this process's and this DataLoader worker's shards: the list shuffled with ``seed + epoch``,
        then dealt out, so every (rank, worker) reads disjoint shards and together all of them.
    decode_member(modality, ext, data, reader_options, source="") -> sample
        bytes → the modality plugin's sample (bytes to a plugin that takes ``bytes``, text to one
        that takes ``str``, else a temporary file named ``*.ext`` for its file reader); a refusal
        is a ReadError naming ``source`` (``shard:key.ext``).
    is_shard_spec(spec) -> bool: whether a data source names ``.tar`` shards.
    index_shard(shard, *, skip_errors=False, on_skip=None) -> list[IndexedSample]
        headers only (uncompressed tars): each sample's key, shard, position and members as
        ``MemberRef(shard, key, ext, offset, size)``, whose ``read()`` returns the bytes.
    read_source(modality, source, options) -> sample
        ``modality.read`` that also takes a ``MemberRef`` (and in-cell bytes of a Parquet manifest).
    member_for(name, members, where, configured=None, candidates=()) -> ext
    modality_members(name, manifest_extensions) -> candidate extensions of a modality
    read_label(ext, data, target, where, json_field=None) -> a ``.cls`` / ``.json`` target value

Why the standard library's ``tarfile`` and not the ``webdataset`` package: training needs exact,
reproducible splits across ranks *and* DataLoader workers (no sample twice in an epoch, the same
order after a resume, the same number of steps on every rank), which webdataset leaves to its own
``split_by_node`` / ``split_by_worker`` / shuffle-buffer stages with their own seeding. Reading a
tar with the standard library adds no dependency, and lets every error name its shard and key. Shards
written by webdataset's ``TarWriter`` or ``tar`` are read the same way. Uncompressed ``.tar`` is
required where random access is needed (the training index, validation); ``iter_shard_samples``
also streams ``.tar.gz``.
"""

from __future__ import annotations

import glob
import json
import os
import re
import tarfile
import tempfile
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from metaframe_registry import ConfigError, ReadError

SHARD_SUFFIXES = (".tar", ".tar.gz", ".tgz")

DEFAULT_MEMBERS: dict[str, tuple[str, ...]] = {
    "image": ("jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff"),
    "audio": ("wav", "flac", "mp3", "ogg", "opus"),
    "text": ("txt",),
}
"""A modality's members when the config names none (else the modality's own file extensions)."""

LABEL_MEMBERS = ("cls", "json")
"""A target's member when the config names none: ``.cls`` (an int or a class name), then ``.json`` (a field)."""


class ShardSkipWarning(UserWarning):
    """A shard or sample left out because ``skip_errors`` is on (the message names shard and key)."""


@dataclass
class ShardSample:
    """One sample of a shard: its key and its members' bytes by extension."""

    key: str
    shard: str
    members: dict[str, bytes] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.shard}:{self.key}"


# -- shard lists ---------------------------------------------------------------------------

_BRACE = re.compile(r"\{([^{}]*)\}")


def _braces(pattern: str) -> list[str]:
    """``a-{000..002}.tar`` → three names; ``{x,y}`` → two; nested groups expand left to right."""
    match = _BRACE.search(pattern)
    if match is None:
        return [pattern]
    head, body, tail = pattern[: match.start()], match.group(1), pattern[match.end() :]
    numeric = re.fullmatch(r"(\d+)\.\.(\d+)", body)
    if numeric:
        lo, hi = numeric.groups()
        width = len(lo) if lo.startswith("0") or len(lo) == len(hi) else 0
        if int(hi) < int(lo):
            raise ConfigError(f"{pattern}: the range {{{body}}} counts down; write {{{hi}..{lo}}}")
        items = [str(i).zfill(width) for i in range(int(lo), int(hi) + 1)]
    elif "," in body:
        items = body.split(",")
    else:
        raise ConfigError(f"{pattern}: {{{body}}} is neither a range {{000..127}} nor a list {{a,b}}")
    return [head + item + rest for item in items for rest in _braces(tail)]


def is_shard_spec(spec: Any) -> bool:
    """Whether a data source names WebDataset shards (a ``.tar`` path, pattern or list of them)."""
    if isinstance(spec, (list, tuple)):
        return bool(spec) and all(is_shard_spec(s) for s in spec)
    return isinstance(spec, (str, os.PathLike)) and str(spec).lower().endswith(SHARD_SUFFIXES)


def expand_shards(spec: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[str]:
    """The shard files a spec names, in order; every one must exist."""
    specs = [spec] if isinstance(spec, (str, os.PathLike)) else list(spec)
    out: list[str] = []
    for item in specs:
        for name in _braces(os.fspath(item)):
            if glob.has_magic(name):
                found = sorted(glob.glob(name))
                if not found:
                    raise ConfigError(f"{name}: no shard matches this pattern")
                out += found
            else:
                out.append(name)
    if not out:
        raise ConfigError(f"{spec!r}: names no shard")
    missing = [s for s in out if not Path(s).is_file()]
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise ConfigError(f"{missing[0]}{more}: shard does not exist ({len(missing)} of the {len(out)} shards of {spec!s} are missing)")
    return out


def split_shards(
    shards: Sequence[str], *, rank: int = 0, world_size: int = 1, worker_id: int = 0, num_workers: int = 1,
    seed: int = 0, epoch: int = 0, shuffle: bool = True,
) -> list[str]:
    """This (rank, worker)'s shards of an epoch: shuffled with ``seed + epoch``, dealt to ranks, then to workers."""
    order = shard_order(len(shards), seed, epoch, shuffle)
    streams = max(1, world_size) * max(1, num_workers)
    mine = rank * max(1, num_workers) + worker_id
    return [shards[i] for i in order[mine::streams]]


def shard_order(count: int, seed: int, epoch: int, shuffle: bool = True) -> list[int]:
    if not shuffle:
        return list(range(count))
    return [int(i) for i in np.random.default_rng(seed + epoch).permutation(count)]


# -- reading ------------------------------------------------------------------------------


def split_name(name: str) -> tuple[str, str]:
    """A member's ``(key, extension)``: the extension is everything after the first dot of the file name."""
    folder, _, base = name.rpartition("/")
    stem, dot, ext = base.partition(".")
    key = f"{folder}/{stem}" if folder else stem
    return key, ext.lower() if dot else ""


def _report(error: ReadError, on_skip: Callable[[ReadError], None] | None) -> None:
    if on_skip is not None:
        on_skip(error)
    else:
        warnings.warn(f"skipped: {error}", ShardSkipWarning, stacklevel=4)  # the reader's caller


def _broken_tar(
    shard: str, last_key: str | None, exc: BaseException, skip_errors: bool, on_skip: Callable[[ReadError], None] | None
) -> None:
    """A tar that broke while read (streamed or indexed): a ReadError naming shard and key, or reported under skip_errors."""
    where = f"at key {last_key!r}" if last_key is not None else "before its first sample"
    error = ReadError(shard, f"corrupt or truncated tar {where}: {' '.join(str(exc).split())}")
    if not skip_errors:
        raise error from None
    _report(error, on_skip)


def iter_shard_samples(
    shards: Sequence[str], *, skip_errors: bool = False, on_skip: Callable[[ReadError], None] | None = None
) -> Iterator[ShardSample]:
    """Samples of ``shards`` in order: consecutive members sharing a key form one sample."""
    for shard in shards:
        yield from _one_shard(shard, skip_errors, on_skip)


def _one_shard(shard: str, skip_errors: bool, on_skip: Callable[[ReadError], None] | None) -> Iterator[ShardSample]:
    current: ShardSample | None = None
    last_key = None
    try:
        with tarfile.open(shard, mode="r|*") as tar:
            for info in tar:
                if not info.isfile():
                    continue
                key, ext = split_name(info.name)
                last_key = key
                handle = tar.extractfile(info)
                data = handle.read() if handle is not None else b""
                if len(data) != info.size:
                    raise EOFError(f"member {info.name} is truncated: {len(data)} of {info.size} bytes")
                if current is not None and current.key != key:
                    yield current
                    current = None
                if current is None:
                    current = ShardSample(key, shard)
                current.members[ext] = data
            _check_end(shard, tar.offset)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        _broken_tar(shard, last_key, exc, skip_errors, on_skip)
        return  # the sample being read when the tar broke is incomplete: left out
    if current is not None:
        yield current


def _check_end(shard: str, offset: int) -> None:
    """Only zero blocks may follow the last member: ``tarfile`` ends quietly at a damaged header, we do not."""
    import gzip

    with open(shard, "rb") as raw:
        compressed = raw.read(2) == b"\x1f\x8b"
    with (gzip.open(shard, "rb") if compressed else open(shard, "rb")) as fh:
        fh.seek(offset)
        while chunk := fh.read(1 << 16):
            if chunk.strip(b"\0"):
                raise tarfile.ReadError(f"a damaged member header at byte {offset}; the members after it cannot be read")


# -- random access (uncompressed tars): the index the training data sources use -------------


@dataclass(frozen=True)
class MemberRef:
    """Where one member's bytes lie in an uncompressed shard (picklable; read in DataLoader workers)."""

    shard: str
    key: str
    ext: str
    offset: int
    size: int

    @property
    def name(self) -> str:
        return f"{self.shard}:{self.key}.{self.ext}"

    def read(self) -> bytes:
        try:
            with open(self.shard, "rb") as fh:
                fh.seek(self.offset)
                data = fh.read(self.size)
        except OSError as exc:
            raise ReadError(self.name, f"cannot read the shard ({exc.strerror or exc})") from None
        if len(data) != self.size:
            raise ReadError(self.name, f"truncated member: {len(data)} of {self.size} bytes")
        return data


@dataclass
class IndexedSample:
    """A sample of the index: its key, shard, position in the shard and members by extension."""

    key: str
    shard: str
    position: int
    members: dict[str, MemberRef]

    @property
    def name(self) -> str:
        return f"{self.shard}:{self.key}"


def index_shard(shard: str, *, skip_errors: bool = False, on_skip: Callable[[ReadError], None] | None = None) -> list[IndexedSample]:
    """Every sample of an uncompressed shard with its members' offsets (headers only; data is not read)."""
    with open(shard, "rb") as fh:
        if fh.read(2) == b"\x1f\x8b":
            raise ConfigError(f"{shard}: a compressed tar; training reads uncompressed .tar shards (write them with `metaframe shard`)")
    samples: list[IndexedSample] = []
    last_key = None
    try:
        with tarfile.open(shard, mode="r:") as tar:
            for info in tar:
                if not info.isfile():
                    continue
                key, ext = split_name(info.name)
                last_key = key
                if not samples or samples[-1].key != key:
                    samples.append(IndexedSample(key, shard, len(samples), {}))
                samples[-1].members[ext] = MemberRef(shard, key, ext, info.offset_data, info.size)
            _check_end(shard, tar.offset)
        end = max((m.offset + m.size for s in samples for m in s.members.values()), default=0)
        if end > os.path.getsize(shard):
            raise EOFError("the last member is truncated")
    except (tarfile.TarError, EOFError, OSError) as exc:
        _broken_tar(shard, last_key, exc, skip_errors, on_skip)
        if samples and last_key == samples[-1].key:
            samples.pop()  # the sample being read when the tar broke may be incomplete
        size = os.path.getsize(shard)
        samples = [s for s in samples if all(m.offset + m.size <= size for m in s.members.values())]
    return samples


# -- members → samples and targets -----------------------------------------------------------


def member_for(
    name: str, members: Sequence[str], where: str, *, configured: str | None = None, candidates: Sequence[str] = ()
) -> str:
    """The extension of the member that feeds ``name`` (a modality or a target) in one sample."""
    if configured is not None:
        if configured.lower().lstrip(".") in members:
            return configured.lower().lstrip(".")
        raise ReadError(where, f"no .{configured} member for {name!r} (data.members); the sample has {_listed(members)}")
    for ext in candidates:
        if ext in members:
            return ext
    raise ReadError(
        where, f"no member for {name!r}: expected one of {_listed(candidates)}, the sample has {_listed(members)} "
        f"(map it with data.members: {{{name}: EXT}})"
    )


def _listed(exts: Sequence[str]) -> str:
    return ", ".join(f".{e}" for e in exts) or "no members"


def modality_members(name: str, manifest_extensions: Sequence[str]) -> tuple[str, ...]:
    """The extensions that feed modality ``name`` by default."""
    own = tuple(e.lower().lstrip(".") for e in manifest_extensions)
    return DEFAULT_MEMBERS.get(name, own) + tuple(e for e in own if e not in DEFAULT_MEMBERS.get(name, ()))


def read_label(ext: str, data: bytes, target: str, where: str, json_field: str | None = None) -> Any:
    """A target's value from its member: ``.cls`` → an int (or the class name); ``.json`` → a field."""
    try:
        text = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ReadError(where, f"the .{ext} member is not UTF-8 text") from None
    if ext != "json" and not ext.endswith(".json"):
        return int(text) if re.fullmatch(r"[+-]?\d+", text) else text
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReadError(where, f"the .{ext} member is not valid JSON ({exc.msg})") from None
    key = json_field or target
    if not isinstance(value, dict):
        return value
    if key not in value:
        raise ReadError(where, f"the .{ext} member has no field {key!r}; it has {', '.join(map(str, value)) or 'none'}")
    return value[key]


def decode_member(modality: Any, ext: str, data: bytes, reader_options: dict[str, Any] | None = None, source: str = "") -> Any:
    """One member's bytes as ``modality``'s sample (a ``metaframe.modality.Modality``)."""
    options = reader_options or {}
    inputs = set(modality.manifest.inputs)
    where = source or f"<.{ext} member>"
    try:
        if "bytes" in inputs:
            return modality.read(data, **options)
        if "str" in inputs and ext in ("txt", "text"):
            return modality.read(data.decode("utf-8"), **options)
        with tempfile.NamedTemporaryFile(prefix="metaframe-member-", suffix=f".{ext}") as fh:
            fh.write(data)
            fh.flush()
            return modality.read(Path(fh.name), **options)
    except ReadError as exc:
        raise ReadError(where, exc.problem) from None
    except ConfigError:
        raise
    except UnicodeDecodeError:
        raise ReadError(where, "not UTF-8 text") from None
    except (ValueError, OSError, RuntimeError) as exc:
        raise ReadError(where, " ".join(f"{type(exc).__name__}: {exc}".split())) from None


def read_source(modality: Any, source: Any, options: dict[str, Any]) -> Any:
    """``modality.read``, with a shard member (``MemberRef``) read from its shard and decoded first, and
    in-cell bytes (Parquet) given to a plugin that reads files as a file."""
    if isinstance(source, MemberRef):
        return decode_member(modality, source.ext, source.read(), options, source.name)
    if isinstance(source, (bytes, bytearray)) and "bytes" not in modality.manifest.inputs and modality.manifest.extensions:
        # an in-cell value of a Parquet manifest: decoded as a file of the modality's first extension
        return decode_member(modality, modality.manifest.extensions[0].lstrip("."), bytes(source), options)
    return modality.read(source, **options)
