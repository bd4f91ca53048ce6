"""Writing WebDataset shards: samples → ``shard-000000.tar`` … of a given size or count (``metaframe shard``).

Each shard is written to a temporary file and renamed into place (``metaframe.atomic``), so an
interrupted run leaves only complete shards. Members carry mtime 0 and no owner: the same samples
give byte-identical shards.
"""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from metaframe_registry import ConfigError

from metaframe.atomic import atomic_path

from .shards import ShardSample

SHARD_NAME = "{prefix}-{index:06d}.tar"

_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "m": 1000**2, "mb": 1000**2, "g": 1000**3, "gb": 1000**3,
          "kib": 1024, "mib": 1024**2, "gib": 1024**3}


def parse_size(text: str) -> int:
    """``64MB`` / ``1GiB`` / ``500k`` / ``1000000`` → bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", str(text))
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _UNITS:
        raise ConfigError(f"--max-size {text!r}: expected a size like 64MB, 500kB or 1GiB")
    size = int(float(match.group(1)) * _UNITS[unit])
    if size <= 0:
        raise ConfigError(f"--max-size {text!r}: must be > 0")
    return size


def _tar_bytes(sample: ShardSample) -> int:
    """What a sample adds to a tar: a 512-byte header per member plus its data padded to 512."""
    return sum(512 + -(-len(data) // 512) * 512 for data in sample.members.values())


def _add(tar: tarfile.TarFile, sample: ShardSample) -> None:
    for ext, data in sample.members.items():
        info = tarfile.TarInfo(f"{sample.key}.{ext}")
        info.size, info.mtime, info.mode = len(data), 0, 0o644
        tar.addfile(info, io.BytesIO(data))


def _groups(samples: Iterable[ShardSample], max_size: int | None, max_count: int | None) -> Iterator[list[ShardSample]]:
    group: list[ShardSample] = []
    size = 2 * 512  # the end-of-archive blocks
    for sample in samples:
        if "." in sample.key:
            raise ConfigError(f"{sample.key!r}: a shard key may not contain a dot (the extension starts at the first dot)")
        grow = _tar_bytes(sample)
        full = (max_count is not None and len(group) >= max_count) or (max_size is not None and size + grow > max_size)
        if group and full:
            yield group
            group, size = [], 2 * 512
        group.append(sample)
        size += grow
    if group:
        yield group


def write_shards(
    samples: Iterable[ShardSample],
    out: str | Path,
    *,
    max_size: int | None = None,
    max_count: int | None = None,
    prefix: str = "shard",
    total: int | None = None,
    quiet: bool = False,
) -> list[Path]:
    """Write ``samples`` as shards under ``out``; returns the shard paths in order.

    A shard closes before the sample that would take it over ``max_size`` bytes or ``max_count``
    samples (a single sample larger than ``max_size`` gets a shard of its own). ``out`` must hold
    no shards of this ``prefix`` yet.
    """
    from tqdm.auto import tqdm

    if max_size is None and max_count is None:
        raise ConfigError("give --max-size or --max-count (or both): how large one shard may be")
    if max_count is not None and max_count <= 0:
        raise ConfigError(f"--max-count {max_count}: must be > 0")
    folder = Path(out)
    existing = sorted(folder.glob(f"{prefix}-*.tar")) if folder.is_dir() else []
    if existing:
        raise ConfigError(f"--out {folder}: already holds shards ({existing[0].name} …); choose an empty folder")
    written: list[Path] = []
    bar = tqdm(total=total, desc="shard", unit="sample", disable=quiet, dynamic_ncols=True)
    for group in _groups(samples, max_size, max_count):
        path = folder / SHARD_NAME.format(prefix=prefix, index=len(written))
        with atomic_path(path) as tmp:
            with tarfile.open(tmp, mode="w", format=tarfile.PAX_FORMAT) as tar:
                for sample in group:
                    _add(tar, sample)
                end = tar.offset + 2 * 512  # the end-of-archive blocks
            os.truncate(tmp, end)  # no padding to tar's 10 KiB records: a shard is as large as its samples
        written.append(path)
        bar.update(len(group))
        bar.set_postfix(shards=len(written))
    bar.close()
    return written


def samples_from_folder(root: str | Path, extensions: Sequence[str] = ()) -> tuple[Iterator[ShardSample], int]:
    """``root/<class>/<file>`` → samples ``{ext: file bytes, cls: class name}``, keyed by position; and the count."""
    folder = Path(root)
    classes = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise ConfigError(f"{folder}: expected one sub-folder per class, found none")
    exts = {e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions}
    files = [
        (cls.name, p) for cls in classes for p in sorted(cls.rglob("*"))
        if p.is_file() and not p.name.startswith(".") and (not exts or p.suffix.lower() in exts)
    ]
    if not files:
        raise ConfigError(f"{folder}: no files{f' with extensions {sorted(exts)}' if exts else ''} in the class folders")
    width = max(6, len(str(len(files) - 1)))
    samples = (
        ShardSample(f"{i:0{width}d}", "", {p.suffix.lower().lstrip("."): p.read_bytes(), "cls": label.encode()})
        for i, (label, p) in enumerate(files)
    )
    return samples, len(files)


def samples_from_manifest(path: str | Path, input_columns: Sequence[str]) -> tuple[Iterator[ShardSample], int]:
    """A CSV / JSONL / Parquet manifest → samples: each input column's file (its extension) or text (``.txt``),
    every other column in one ``.json`` member (targets are read from it by name)."""
    from .manifests import manifest_row_count, read_manifest_rows

    manifest = Path(path)
    rows = read_manifest_rows(manifest)
    count = manifest_row_count(manifest)
    width = max(6, len(str(max(count - 1, 0))))

    def generate() -> Iterator[ShardSample]:
        for i, row in enumerate(rows):
            missing = [c for c in input_columns if c not in row]
            if missing:
                raise ConfigError(f"{manifest}: no column {missing[0]!r} (--input-column); found {', '.join(row)}")
            members: dict[str, bytes] = {}
            for column in input_columns:
                ext, data = _cell_member(row[column], manifest.parent, f"{manifest}:{i + 1}:{column}")
                members[ext if len(input_columns) == 1 else f"{column}.{ext}"] = data
            rest = {k: v for k, v in row.items() if k not in input_columns}
            if rest:
                members["json"] = json.dumps(rest, default=_plain).encode()
            yield ShardSample(f"{i:0{width}d}", "", members)

    return generate(), count


def _plain(value: object) -> object:
    return value.tolist() if hasattr(value, "tolist") else str(value)


def _cell_member(value: object, base: Path, where: str) -> tuple[str, bytes]:
    if isinstance(value, (bytes, bytearray)):
        return "bin", bytes(value)
    if isinstance(value, str) and value:
        candidate = Path(value) if Path(value).is_absolute() else base / value
        try:
            if candidate.is_file():
                return (candidate.suffix.lower().lstrip(".") or "bin"), candidate.read_bytes()
        except (OSError, ValueError):  # a long text is no file name
            pass
        return "txt", value.encode("utf-8")
    raise ConfigError(f"{where}: {type(value).__name__} cell — expected a file path or text")


def brace_pattern(paths: list[Path]) -> str:
    """``out/shard-{000000..000009}.tar`` for the shards ``write_shards`` returned."""
    if not paths:
        return ""
    first = paths[0]
    prefix = first.name.rsplit("-", 1)[0]
    if len(paths) == 1:
        return str(first)
    return str(first.parent / f"{prefix}-{{{0:06d}..{len(paths) - 1:06d}}}.tar")
