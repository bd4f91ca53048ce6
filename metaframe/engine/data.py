"""Training data: examples from class folders, CSV / JSONL / Parquet manifests, WebDataset shards or a plugin's dataset.

An ``Example`` holds each modality's *source* (a path or an in-memory object, read lazily in
DataLoader workers) or an already-read sample (plugin datasets), and its raw targets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from metaframe_registry import ConfigError

from .config import DataConfig, TrainConfig
from .manifests import MANIFEST_SUFFIXES, PARQUET_SUFFIXES, is_parquet, read_manifest_rows, row_name, source_value


@dataclass
class Example:
    inputs: dict[str, Any]
    targets: dict[str, Any] = field(default_factory=dict)
    name: str = ""
    needs_read: bool = True


def detect_format(path: Path, declared: str) -> str:
    if declared != "auto":
        return declared
    if path.is_dir():
        return "folders"
    if path.suffix.lower() in MANIFEST_SUFFIXES:
        return "manifest"
    return "dataset"


def _extensions(modality: Any) -> set[str]:
    return set(modality.manifest.extensions)


def examples_from_folders(root: Path, modality_name: str, modality: Any, target: str) -> list[Example]:
    """``root/<class>/<file>``: the folder name is the label."""
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise ConfigError(f"{root}: expected one sub-folder per class, found none")
    exts = _extensions(modality)
    out = []
    for cls in classes:
        files = sorted(
            p for p in cls.rglob("*") if p.is_file() and not p.name.startswith(".") and (not exts or p.suffix.lower() in exts)
        )
        out += [Example({modality_name: p}, {target: cls.name}, str(p)) for p in files]
    if not out:
        raise ConfigError(f"{root}: no files with extensions {sorted(exts)} in the class folders")
    return out


def _target_value(value: Any) -> Any:
    if isinstance(value, list):
        return np.asarray(value, dtype=np.float32)
    return value


def examples_from_manifest(path: Path, config: TrainConfig) -> list[Example]:
    """One example per row of a CSV / JSONL / Parquet manifest (Parquet read one record batch at a time)."""
    columns = {m: (c.column or config.data.path_column) for m, c in config.modalities.items()}
    targets = target_columns(config)
    needed = list(columns.values()) + list(targets.values())
    align = config.align is not None  # pairs: a cell may be empty, a JSONL record may leave a key out
    seen: set[str] = set()
    out = []
    for i, row in enumerate(read_manifest_rows(path)):
        if align:
            from .align import is_missing

            seen.update(row)
            inputs = {m: source_value(row.get(c), path.parent) for m, c in columns.items() if not is_missing(row.get(c))}
        else:
            if i == 0:
                _check_columns(path, needed, row)
            inputs = {m: source_value(row[c], path.parent) for m, c in columns.items()}
        tgt = {t: _target_value(row[c]) for t, c in targets.items()}
        out.append(Example(inputs, tgt, row_name(path, i)))
    if not out:
        raise ConfigError(f"{path}: the manifest has no rows")
    if align:
        _check_columns(path, needed, seen)
    return out


def _check_columns(path: Path, needed: list[str], found: Any) -> None:
    missing = [c for c in needed if c not in found]
    if missing:
        raise ConfigError(
            f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(sorted(found) if isinstance(found, set) else found)} "
            "(set data.path_column / data.target_column or modalities.NAME.column)"
        )


def examples_from_dataset(path: Path, config: TrainConfig) -> list[Example]:
    """The items of a plugin's ``Modality.dataset(path, **data.dataset_options)``: ``(sample, target)``
    pairs of already-read samples, or in an align run dicts ``{modality: source}`` (one pair or tuple each),
    each source read by its own modality's reader: one plugin's dataset cannot know another's reader options."""
    from metaframe.api import get_modality

    name = dataset_modality(path, config)
    items = get_modality(name).dataset(path, **config.data.dataset_options)
    if config.align is not None:
        from .align import tuple_example

        names = config.modality_names
        return [
            tuple_example(item, names, f"{path}[{i}]", f"{path}[{i}] (the {name!r} plugin's dataset)")
            for i, item in enumerate(items)
        ]
    heads = list(config.heads.values())
    out = []
    for i, item in enumerate(items):
        if isinstance(item, dict):  # unpacking would silently give its first two keys
            raise ConfigError(
                f"{path}[{i}] (the {name!r} plugin's dataset): found a dict; a dict {{modality: source}} is a tuple "
                "for align runs (align: {...}); this run expects (sample, target) pairs"
            )
        sample, target = item
        if isinstance(target, dict):
            tgt = {h.target: target[h.target] for h in heads}
        else:
            tgt = {h.target: target for h in heads}
        out.append(Example({name: sample}, tgt, f"{path}[{i}]", needs_read=False))
    return out


def target_columns(config: TrainConfig) -> dict[str, str]:
    """Target name → manifest column (``data.target_column`` renames a single head's target)."""
    targets = [h.target for h in config.heads.values()]
    if config.data.target_column and len(targets) == 1:
        return {targets[0]: config.data.target_column}
    return {t: t for t in targets}


def load_examples(source: str | Path, config: TrainConfig, what: str = "data.train") -> list[Example]:
    """The examples of ``source``; a ConfigError names the field ``what`` it came from."""
    from .shards import is_shard_spec

    if config.data.format == "webdataset" or (config.data.format == "auto" and is_shard_spec(source)):
        from .shard_data import examples_from_shards

        try:
            return label_sets(examples_from_shards(str(source), config), config)
        except ConfigError as exc:
            raise ConfigError(f"{what}: {exc}") from None
    path = Path(source)
    if not path.exists():
        raise ConfigError(f"{what}: {str(path)!r} — does not exist")
    try:
        return label_sets(_load_examples(path, config), config)
    except ConfigError as exc:
        if str(exc).startswith(("data.", "modalities", "heads.")):
            raise
        raise ConfigError(f"{what}: {exc}") from None


def _load_examples(path: Path, config: TrainConfig) -> list[Example]:
    from metaframe.api import get_modality

    fmt = detect_format(path, config.data.format)
    if fmt == "manifest" and config.data.format == "auto" and is_parquet(path) and _reads_parquet_datasets(config):
        fmt = "dataset"  # tabular, time series, IMU: a Parquet file is their dataset of many samples
    if fmt == "folders":
        if len(config.modalities) != 1 or len(config.heads) != 1:
            raise ConfigError(f"{path}: class folders feed one modality and one head; use a manifest for more")
        name = config.modality_names[0]
        return examples_from_folders(path, name, get_modality(name), next(iter(config.heads.values())).target)
    if fmt == "manifest":
        return examples_from_manifest(path, config)
    return examples_from_dataset(path, config)


def _reads_parquet_datasets(config: TrainConfig) -> bool:
    from metaframe.api import get_modality

    if len(config.modalities) != 1:
        return False
    manifest = get_modality(config.modality_names[0]).manifest
    return manifest.dataset is not None and any(e.lower() in PARQUET_SUFFIXES for e in manifest.extensions)


def dataset_modality(path: Path, config: TrainConfig) -> str:
    """The modality whose plugin reads ``path`` as a dataset: ``data.dataset_modality``, else the only
    one of the run's modalities with a dataset reader (a training run: its one modality)."""
    from metaframe.api import get_modality

    names = config.modality_names
    readers = [m for m in names if get_modality(m).manifest.dataset is not None]
    chosen = config.data.dataset_modality
    if chosen is not None and chosen not in readers:
        raise ConfigError(
            f"data.dataset_modality: {chosen!r} — its plugin has no dataset reader (the manifest's dataset field); "
            f"modalities with one: {', '.join(readers) or 'none'}"
        )
    explicit = chosen is not None or config.data.format == "dataset"
    if config.align is not None and explicit:  # pairs: a plugin's dataset only when asked for
        if chosen is not None or len(readers) == 1:
            return chosen or readers[0]
        if readers:
            raise ConfigError(
                f"data.dataset_modality: required — {path} is read as a dataset and modalities {', '.join(readers)} "
                "all have a dataset reader; name the one whose dataset yields the tuples"
            )
    elif len(names) == 1 and readers:
        return names[0]
    if config.align is not None and readers:
        how = "an align run reads a plugin's dataset of tuples with data.format: dataset or data.dataset_modality"
    elif readers:
        how = f"modality {readers[0]!r} has a dataset reader, but a dataset file feeds one modality only"
    else:
        how = f"no dataset reader in modality {', '.join(repr(m) for m in names)}"
    raise ConfigError(
        f"{path} — not a data format metaframe reads ({how}); expected a CSV / JSONL / Parquet manifest "
        f"({', '.join(MANIFEST_SUFFIXES)}), a folder with one sub-folder per class, or a file the modality's "
        "plugin reads as a dataset (data.format: dataset)"
    )


def examples_from_pairs(pairs: Sequence[Any], config: TrainConfig, what: str) -> list[Example]:
    """In-memory ``(source, target)`` pairs (a source is a dict by modality for joint models); an align
    run takes one dict ``{modality: source}`` per pair or tuple instead (metaframe.engine.align)."""
    names = config.modality_names
    if config.align is not None:
        from .align import tuple_example

        return [tuple_example(item, names, f"{what}[{i}]", f"{what}[{i}]") for i, item in enumerate(pairs)]
    heads = list(config.heads.values())
    out = []
    for i, item in enumerate(pairs):
        source, target = item
        if len(names) == 1:
            inputs = {names[0]: source}  # a dict source (e.g. a table row) is one modality's input
        elif isinstance(source, dict) and set(source) == set(names):
            inputs = source
        else:
            raise ConfigError(f"{what}[{i}]: a joint model needs a dict with one source per modality ({', '.join(names)})")
        tgt = target if isinstance(target, dict) else {h.target: target for h in heads}
        out.append(Example(dict(inputs), dict(tgt), f"{what}[{i}]"))
    return label_sets(out, config)


def label_sets(examples: list[Example], config: TrainConfig) -> list[Example]:
    """Each multi-label target read as its set of labels (a list, a JSON list or ``"a;b"``; metaframe.engine.multilabel)."""
    from .multilabel import parse_label_set

    names = [h.target for h in config.heads.values() if h.resolved_task == "multilabel"]
    for example in examples:
        for t in names:
            if t in example.targets:
                example.targets[t] = parse_label_set(example.targets[t], example.name, t)
    return examples


def split(examples: list[Example], fraction: float, seed: int) -> tuple[list[Example], list[Example]]:
    """A reproducible random split: the same seed gives the same validation set."""
    if fraction <= 0:
        return examples, []
    order = np.random.default_rng(seed).permutation(len(examples))
    n_val = max(1, int(round(len(examples) * fraction)))
    if n_val >= len(examples):
        raise ConfigError(f"data.val_fraction: {fraction} leaves no training samples out of {len(examples)}")
    val = set(order[:n_val].tolist())
    return [e for i, e in enumerate(examples) if i not in val], [e for i, e in enumerate(examples) if i in val]


def build_splits(
    config: TrainConfig, train_data: Sequence[Any] | None = None, val_data: Sequence[Any] | None = None
) -> tuple[list[Example], list[Example]]:
    data: DataConfig = config.data
    if train_data is not None:
        train = examples_from_pairs(train_data, config, "train_data")
    elif data.train is not None:
        train = load_examples(data.train, config)
    else:
        raise ConfigError("data.train: required field is missing (a folder, a manifest or a dataset file)")
    if val_data is not None:
        val = examples_from_pairs(val_data, config, "val_data")
    elif data.val is not None:
        val = load_examples(data.val, config, "data.val")
    else:
        train, val = split(train, data.val_fraction, data.split_seed)
    if data.limit is not None:
        train = limit_examples(train, data.limit, config, data.split_seed)
    if config.align is not None:
        from .align import paired_examples

        train, val = paired_examples(train, config, "data.train"), paired_examples(val, config, "data.val", required=False)
    return train, val


def limit_examples(examples: list[Example], limit: int, config: TrainConfig, seed: int) -> list[Example]:
    """``limit`` examples drawn across the classes of the first classification target (seeded).

    Folders and many manifests list their samples class by class; the first N would be one class.
    Without a classification target the N are a seeded random subset. The kept examples stay in
    their original order.
    """
    if limit >= len(examples):
        return examples
    rng = np.random.default_rng(seed)
    target = next((h.target for h in config.heads.values() if h.resolved_task == "classification"), None)
    groups: dict[Any, list[int]] = {}
    for i, example in enumerate(examples):
        key = _plain(example.targets.get(target)) if target is not None else None
        groups.setdefault(key if _hashable(key) else repr(key), []).append(i)
    queues = [list(rng.permutation(idx)) for _, idx in sorted(groups.items(), key=lambda kv: str(kv[0]))]
    chosen: list[int] = []
    while len(chosen) < limit:
        for queue in queues:
            if queue and len(chosen) < limit:
                chosen.append(int(queue.pop(0)))
    return [examples[i] for i in sorted(chosen)]


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


# -- labels ------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") and np.ndim(value) == 0 else value


def build_label_maps(config: TrainConfig, train: list[Example]) -> dict[str, list[Any]]:
    """Sorted class lists for every classification and multi-label target (index = position)."""
    maps: dict[str, list[Any]] = {}
    for head in config.heads.values():
        if head.resolved_task == "multilabel":
            values = {label for e in train for label in e.targets[head.target]}
        elif head.resolved_task == "classification":
            values = {_plain(e.targets[head.target]) for e in train}
        else:
            continue
        maps[head.target] = sorted(values, key=lambda v: (type(v).__name__, v))
    return maps


def encode_target(value: Any, classes: list[Any] | None, where: str, target: str) -> Any:
    if classes is None:
        return np.asarray(value, dtype=np.float32)
    from .multilabel import LabelSet, multi_hot

    if isinstance(value, LabelSet):  # a multi-label target: a multi-hot row, stacked to [B, C] by the collate
        return multi_hot(value, classes, where, target)
    v = _plain(value)
    try:
        return classes.index(v)
    except ValueError:
        raise ConfigError(
            f"{where}: target {target!r} has value {v!r}, which the training data does not contain "
            f"(known: {', '.join(map(str, classes[:20]))})"
        ) from None


def target_shapes(config: TrainConfig, train: list[Example]) -> dict[str, tuple[int, ...]]:
    """Per regression target, the shape of one target (``()`` for scalars)."""
    shapes = {}
    for head in config.heads.values():
        if head.resolved_task == "regression":
            shapes[head.target] = tuple(np.shape(np.asarray(train[0].targets[head.target], dtype=np.float32)))
    return shapes
