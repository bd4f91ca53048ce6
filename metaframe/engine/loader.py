"""DataLoader pieces: lazy reading in workers, per-modality collate, a resumable sharded order.

The batch order of epoch ``e`` is a permutation seeded by ``seed + e``: a resumed run skips
the batches it already did, and ``world`` processes split each global batch between them so
that together they see exactly the batch a single process would.
"""

from __future__ import annotations

from typing import Any, Iterator, Sequence

import numpy as np
import torch

from metaframe.modality import Modality
from metaframe.threads import worker_init

from .data import Example, encode_target
from .shards import read_source


class ExampleDataset(torch.utils.data.Dataset):
    """Reads one example's inputs with each modality's reader and encodes its targets. An example
    may lack a modality (an align run's row pairs whatever it has); with no targets, the second
    item is ``{}``."""

    def __init__(
        self,
        examples: Sequence[Example],
        modalities: dict[str, Modality],
        reader_options: dict[str, dict[str, Any]],
        label_maps: dict[str, list[Any]],
        targets: Sequence[str],
    ) -> None:
        self.examples = list(examples)
        self.modalities = modalities
        self.reader_options = reader_options
        self.label_maps = label_maps
        self.targets = list(targets)

    def __len__(self) -> int:
        return len(self.examples)

    def read_inputs(self, index: int) -> dict[str, Any]:
        ex = self.examples[index]
        if not ex.needs_read:
            return dict(ex.inputs)
        return {
            m: read_source(mod, ex.inputs[m], self.reader_options.get(m, {}))
            for m, mod in self.modalities.items() if m in ex.inputs
        }

    def __getitem__(self, index: int) -> tuple[dict[str, Any], dict[str, Any]]:
        ex = self.examples[index]
        targets = {t: encode_target(ex.targets[t], self.label_maps.get(t), ex.name, t) for t in self.targets}
        return self.read_inputs(index), targets


class Collator:
    """Picklable collate for DataLoader workers: each modality's own collate, targets stacked."""

    def __init__(self, modalities: dict[str, Modality], classification: Sequence[str]) -> None:
        self.modalities = modalities
        self.classification = set(classification)

    def __call__(self, items: list[tuple[dict[str, Any], dict[str, Any]]]) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        inputs = {m: mod.collate([it[0][m] for it in items]) for m, mod in self.modalities.items()}
        targets: dict[str, torch.Tensor] = {}
        for name in items[0][1]:
            values = [it[1][name] for it in items]
            if name in self.classification:
                targets[name] = torch.tensor(values, dtype=torch.long)
            else:
                targets[name] = torch.from_numpy(np.stack(values).astype(np.float32))
        return inputs, targets


class EpochBatchSampler(torch.utils.data.Sampler[list[int]]):
    """Global batches from a seeded permutation; this rank's share of each; resumable mid-epoch."""

    def __init__(
        self, size: int, batch_size: int, seed: int, rank: int = 0, world: int = 1, shuffle: bool = True
    ) -> None:
        self.size = size
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.world = world
        self.shuffle = shuffle
        self.epoch = 0
        self.start_batch = 0

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        self.epoch = epoch
        self.start_batch = start_batch

    def global_batches(self) -> list[np.ndarray]:
        if self.shuffle:
            order = np.random.default_rng(self.seed + self.epoch).permutation(self.size)
        else:
            order = np.arange(self.size)
        batches = [order[i : i + self.batch_size] for i in range(0, self.size, self.batch_size)]
        # every rank needs at least one sample of a batch; a too-small last batch is dropped
        return [b for b in batches if len(b) >= self.world]

    def __len__(self) -> int:
        return max(0, len(self.global_batches()) - self.start_batch)

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.global_batches()[self.start_batch :]:
            yield batch[self.rank :: self.world].tolist()


def global_batch_sizes(sampler: EpochBatchSampler) -> list[int]:
    return [len(b) for b in sampler.global_batches()[sampler.start_batch :]]


def make_loader(
    dataset: ExampleDataset, collate: Collator, sampler: EpochBatchSampler, num_workers: int, pin: bool
) -> torch.utils.data.DataLoader:
    return torch.utils.data.DataLoader(
        dataset,
        batch_sampler=sampler,
        collate_fn=collate,
        num_workers=num_workers,
        pin_memory=pin,
        prefetch_factor=2 if num_workers else None,
        persistent_workers=False,
        worker_init_fn=worker_init,  # 1 intra-op thread per worker (metaframe.threads)
        # workers' seeds come from their own generator, so the global RNG (dropout) is not consumed
        # by starting an epoch: a run resumed mid-epoch draws the same numbers as an uninterrupted one
        generator=torch.Generator().manual_seed(sampler.seed),
    )
