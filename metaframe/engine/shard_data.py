"""Training on WebDataset shards: an index of the samples, a seeded epoch plan, and a streaming dataset.

``examples_from_shards`` reads every shard's headers once (no sample data, only the small label
members) and turns each sample into an ``Example`` whose inputs are ``MemberRef`` s: label maps,
tokenizer fitting, validation and evaluation use them like any other source.

Training streams instead: ``ShardEpochPlan`` deals epoch ``e``'s shards, shuffled with ``seed + e``,
to the ranks and then to each rank's DataLoader workers, so every (rank, worker) reads its own
shards start to end; each shard's samples are shuffled in memory (one shard per worker is held).
The plan is known to every process without reading data, which gives:

- the same number of steps on every rank: each epoch has ``min`` over ranks of full local batches;
  the samples past it are dropped (never padded) — the rest of the shards of the larger ranks;
- resume at any step: a resumed run skips the shards its workers had finished and the samples of
  the shard they were in, and continues with exactly the batches an uninterrupted run would see;
- a failing batch names its samples (``shard:key``) through the engine's usual re-read one by one.

With ``data.skip_errors`` a member that cannot be decoded is reported and replaced by the worker's
previous sample, so the batch count — and with it every rank's step count — stays as planned.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import numpy as np
import torch

from metaframe_registry import ConfigError, ReadError

from metaframe.threads import worker_init

from .config import TrainConfig
from .data import Example, target_columns
from .loader import Collator, ExampleDataset
from .shards import (
    LABEL_MEMBERS,
    MemberRef,
    ShardSkipWarning,
    decode_member,
    expand_shards,
    index_shard,
    iter_shard_samples,
    member_for,
    modality_members,
    read_label,
    shard_order,
)


@dataclass
class ShardLayout:
    """Which examples each shard holds, in the shard's own order (indices into the example list)."""

    shards: list[str]
    members: list[list[int]]


def examples_from_shards(spec: str | Sequence[str], config: TrainConfig) -> list[Example]:
    """One ``Example`` per sample of the shards, its inputs ``MemberRef`` s and its targets read from their members."""
    from tqdm.auto import tqdm

    from metaframe.api import get_modality

    shards = expand_shards(spec)
    data = config.data
    skip = data.skip_errors
    targets = target_columns(config)
    wanted = {m: modality_members(m, get_modality(m).manifest.extensions) for m in config.modality_names}
    examples: list[Example] = []
    # headers only, fast: a bar for many shards, and only on a terminal (data sources take no quiet flag)
    for shard in tqdm(shards, desc="index shards", unit="shard", disable=None if len(shards) >= 64 else True):
        with open(shard, "rb") as fh:
            for sample in index_shard(shard, skip_errors=skip):
                try:
                    example = _example(sample, fh, wanted, targets, data.members)
                except ReadError as exc:
                    if not skip:
                        raise ReadError(exc.source, exc.problem + " (data.skip_errors: true leaves such samples out)") from None
                    warnings.warn(f"skipped: {exc}", ShardSkipWarning, stacklevel=2)
                    continue
                examples.append(example)
    if not examples:
        raise ConfigError(f"{spec}: the shards hold no samples")
    return examples


def _example(sample: Any, fh: Any, wanted: dict[str, tuple[str, ...]], targets: dict[str, str], members: dict[str, str]) -> Example:
    exts = list(sample.members)
    inputs = {}
    for name, candidates in wanted.items():
        ext = member_for(name, exts, sample.name, configured=members.get(name), candidates=candidates)
        inputs[name] = sample.members[ext]
    values = {}
    for target, column in targets.items():
        ext = member_for(target, exts, sample.name, configured=members.get(target), candidates=LABEL_MEMBERS)
        ref = sample.members[ext]
        fh.seek(ref.offset)
        values[target] = read_label(ext, fh.read(ref.size), column, ref.name)
    return Example(inputs, values, sample.name)


def _ref(example: Example) -> MemberRef:
    return next(iter(example.inputs.values()))


def is_sharded(examples: Sequence[Example]) -> bool:
    """Whether these examples come from shards (their inputs are shard members)."""
    return bool(examples) and all(isinstance(v, MemberRef) for v in examples[0].inputs.values())


def shard_layout(examples: Sequence[Example]) -> ShardLayout:
    """The shards of ``examples`` (in first-seen order) and which examples each holds (after a split or limit too)."""
    members: dict[str, list[int]] = {}
    for i, example in enumerate(examples):
        members.setdefault(_ref(example).shard, []).append(i)
    return ShardLayout(list(members), list(members.values()))


# -- the epoch plan ------------------------------------------------------------------------------


def round_robin(counts: Sequence[int]) -> list[int]:
    """The worker of each batch, in the order a DataLoader yields them: workers in turn, an exhausted one left out."""
    left = list(counts)
    order: list[int] = []
    while any(left):
        for w, n in enumerate(left):
            if n:
                order.append(w)
                left[w] -= 1
    return order


class ShardEpochPlan:
    """The batches of every epoch of a sharded training set, for every rank and worker (sampler-shaped).

    ``global_batches()`` lists each step's global batch such that ``batch[rank::world]`` is what
    ``rank`` trains on: the engine's sampler interface (``set_epoch``, ``len``, ``start_batch``).
    """

    def __init__(
        self, layout: ShardLayout, batch_size: int, seed: int, rank: int = 0, world: int = 1, num_workers: int = 0,
        horizon: int = 1, shuffle: bool = True,
    ) -> None:
        self.layout = layout
        self.local = batch_size // world
        self.seed, self.rank, self.world, self.shuffle = seed, rank, world, shuffle
        self.workers = max(1, num_workers)
        self.epoch = 0
        self.start_batch = 0
        # the same step count in every epoch (the schedule's length): the fewest over the first epochs
        self.steps = min(self._steps(e) for e in range(max(1, horizon)))

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        self.epoch = epoch
        self.start_batch = start_batch

    def worker_shards(self, rank: int, worker: int, epoch: int) -> list[int]:
        order = shard_order(len(self.layout.shards), self.seed, epoch, self.shuffle)
        return order[rank * self.workers + worker :: self.world * self.workers]

    def shard_samples(self, shard: int, epoch: int) -> list[int]:
        """A shard's examples in this epoch's order (seeded by seed, epoch and shard)."""
        own = self.layout.members[shard]
        if not self.shuffle:
            return list(own)
        perm = np.random.default_rng([self.seed, epoch, shard]).permutation(len(own))
        return [own[i] for i in perm]

    def worker_samples(self, rank: int, worker: int, epoch: int) -> list[int]:
        return [i for s in self.worker_shards(rank, worker, epoch) for i in self.shard_samples(s, epoch)]

    def _full_batches(self, rank: int, epoch: int) -> list[int]:
        """Per worker of ``rank``: how many full local batches its shards hold."""
        return [
            sum(len(self.layout.members[s]) for s in self.worker_shards(rank, w, epoch)) // self.local
            for w in range(self.workers)
        ]

    def _steps(self, epoch: int) -> int:
        return min(sum(self._full_batches(r, epoch)) for r in range(self.world))

    def epoch_steps(self, epoch: int) -> int:
        return min(self.steps, self._steps(epoch))

    def worker_order(self, rank: int, epoch: int) -> list[int]:
        """The worker of each of ``rank``'s batches in ``epoch``, cut to the steps every rank takes."""
        return round_robin(self._full_batches(rank, epoch))[: self.epoch_steps(epoch)]

    def worker_batches(self, rank: int, epoch: int) -> list[int]:
        """Per worker of ``rank``: the batches it yields in ``epoch`` (its share of the cut)."""
        order = self.worker_order(rank, epoch)
        return [order.count(w) for w in range(self.workers)]

    def rank_batches(self, rank: int, epoch: int) -> list[list[int]]:
        """``rank``'s local batches of ``epoch`` in training order."""
        samples = [self.worker_samples(rank, w, epoch) for w in range(self.workers)]
        taken = [0] * self.workers
        batches = []
        for w in self.worker_order(rank, epoch):
            batches.append(samples[w][taken[w] * self.local : (taken[w] + 1) * self.local])
            taken[w] += 1
        return batches

    def global_batches(self) -> list[np.ndarray]:
        steps = self.epoch_steps(self.epoch)
        per_rank = [self.rank_batches(r, self.epoch) for r in range(self.world)]
        return [np.stack([np.asarray(per_rank[r][j]) for r in range(self.world)], axis=1).reshape(-1) for j in range(steps)]

    def __len__(self) -> int:
        return max(0, self.epoch_steps(self.epoch) - self.start_batch)

    def resume_point(self) -> tuple[list[int], int]:
        """For ``start_batch``: the batches each worker of this rank already yielded, and the worker that yields next."""
        order = self.worker_order(self.rank, self.epoch)
        done = [0] * self.workers
        for w in order[: self.start_batch]:
            done[w] += 1
        rest = order[self.start_batch :]
        return done, (rest[0] if rest else 0)


# -- streaming -------------------------------------------------------------------------------------


class ShardStream(torch.utils.data.IterableDataset):
    """This rank's training samples, each DataLoader worker reading its own shards of the plan in order."""

    def __init__(self, dataset: "ShardExampleDataset", plan: ShardEpochPlan, skip_errors: bool = False) -> None:
        self.dataset = dataset
        self.plan = plan
        self.skip_errors = skip_errors

    def __iter__(self) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        plan = self.plan
        info = torch.utils.data.get_worker_info()
        if (info.num_workers if info is not None else 1) != plan.workers:
            raise RuntimeError(f"this ShardStream is planned for {plan.workers} DataLoader worker(s)")
        done, first = plan.resume_point()
        # a DataLoader asks its workers in turn from worker 0: after a resume, worker 0 plays the part due next
        worker = ((info.id if info is not None else 0) + first) % plan.workers
        planned = plan.worker_samples(plan.rank, worker, plan.epoch)
        count = plan.worker_batches(plan.rank, plan.epoch)[worker] * plan.local
        yield from self._samples(planned[done[worker] * plan.local : count])

    def _samples(self, wanted: list[int]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        """The ``wanted`` examples in order, each shard read once, start to end."""
        examples = self.dataset.examples
        by_shard: dict[str, list[int]] = {}
        for i in wanted:
            by_shard.setdefault(_ref(examples[i]).shard, []).append(i)
        last = None
        owed = 0
        for shard, indices in by_shard.items():
            keys = {_ref(examples[i]).key for i in indices}
            held = {s.key: s.members for s in iter_shard_samples([shard], skip_errors=self.skip_errors) if s.key in keys}
            for i in indices:
                try:
                    blobs = held.get(_ref(examples[i]).key)
                    if blobs is None:
                        raise ReadError(examples[i].name, "missing from its shard (it changed after indexing?)")
                    item = self.dataset.item_from_members(i, blobs)
                except ReadError as exc:
                    if not self.skip_errors:
                        raise
                    warnings.warn(f"skipped: {exc} (replaced by the previous sample)", ShardSkipWarning, stacklevel=2)
                    if last is None:
                        owed += 1
                        continue
                    item = last
                last = item
                for _ in range(owed + 1):
                    yield item
                owed = 0


class ShardExampleDataset(ExampleDataset):
    """An ExampleDataset whose inputs are shard members: random access (validation) or bytes already read (streams)."""

    def item_from_members(self, index: int, blobs: dict[str, bytes]) -> tuple[dict[str, Any], dict[str, Any]]:
        from .data import encode_target

        ex = self.examples[index]
        inputs = {}
        for m, mod in self.modalities.items():
            ref = ex.inputs[m]
            if ref.ext not in blobs:
                raise ReadError(ref.name, "missing from its shard (it changed after indexing?)")
            inputs[m] = decode_member(mod, ref.ext, blobs[ref.ext], self.reader_options.get(m, {}), ref.name)
        targets = {t: encode_target(ex.targets[t], self.label_maps.get(t), ex.name, t) for t in self.targets}
        return inputs, targets


def make_shard_loader(
    dataset: ShardExampleDataset, collate: Collator, plan: ShardEpochPlan, num_workers: int, pin: bool, skip_errors: bool
) -> torch.utils.data.DataLoader:
    return torch.utils.data.DataLoader(
        ShardStream(dataset, plan, skip_errors),
        batch_size=plan.local,
        drop_last=True,
        collate_fn=collate,
        num_workers=num_workers,
        pin_memory=pin,
        prefetch_factor=2 if num_workers else None,
        persistent_workers=False,
        worker_init_fn=worker_init,
        generator=torch.Generator().manual_seed(plan.seed),
    )
