"""Training on WebDataset shards: every rank and DataLoader worker reads its own shards, every sample once
per epoch, the same steps on every rank, resume mid-epoch, corrupt members named or skipped."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from safetensors.torch import load_file

import metaframe
from engine_helpers import run_module, tiny_config, write_image_folders
from metaframe_registry import ReadError

from metaframe.engine.config import parse_config
from metaframe.engine.data import Example, load_examples
from metaframe.engine.shard_data import ShardEpochPlan, ShardStream, round_robin, shard_layout
from metaframe.engine.shard_writer import brace_pattern, samples_from_folder, write_shards
from metaframe.engine.shards import ShardSample, ShardSkipWarning, index_shard


class KeysDataset:
    """What ShardStream needs of a dataset: the examples, and an item (here: the example's index) from member bytes."""

    def __init__(self, examples: list[Example], bad: set[str] = frozenset()) -> None:
        self.examples = examples
        self.bad = bad

    def item_from_members(self, index: int, blobs: dict[str, bytes]) -> int:
        example = self.examples[index]
        if example.name.rpartition(":")[2] in self.bad:
            raise ReadError(example.name + ".txt", "cannot decode")
        assert blobs["txt"] == example.inputs["toy"].read()
        return index


def shard_examples(folder: Path, sizes: list[int]) -> list[Example]:
    """Shards holding ``sizes`` samples each; one Example per sample (its input a member of its shard)."""
    counter = iter(range(sum(sizes)))
    paths = []
    for n, size in enumerate(sizes):
        samples = [ShardSample(f"{next(counter):05d}", "", {"txt": f"s{n}".encode()}) for _ in range(size)]
        paths += write_shards(samples, folder / f"part{n}", max_count=size, quiet=True)
    return [Example({"toy": s.members["txt"]}, {}, s.name) for p in paths for s in index_shard(str(p))]


def loader_batches(examples: list[Example], plan: ShardEpochPlan, workers: int, bad: set[str] = frozenset(), skip: bool = False) -> list[list[int]]:
    loader = torch.utils.data.DataLoader(
        ShardStream(KeysDataset(examples, bad), plan, skip), batch_size=plan.local, drop_last=True, collate_fn=list,
        num_workers=workers,
    )
    return list(loader)


UNEVEN = [7, 3, 9, 4, 6, 5, 8, 2, 6]
pytestmark = pytest.mark.filterwarnings("ignore:This DataLoader will create 3 worker processes")  # 3 workers on 2 cores


@pytest.mark.parametrize("workers", [0, 2, 3])
def test_ranks_and_workers_read_disjoint_shards_and_the_loader_follows_the_plan(tmp_path: Path, workers: int) -> None:
    examples = shard_examples(tmp_path, UNEVEN)
    layout = shard_layout(examples)
    world, batch = 2, 4
    plans = [ShardEpochPlan(layout, batch, seed=3, rank=r, world=world, num_workers=workers, horizon=2) for r in range(world)]
    for epoch in (0, 1):
        seen: list[list[int]] = []
        for plan in plans:
            plan.set_epoch(epoch)
            got = loader_batches(examples, plan, workers)
            assert got == plan.rank_batches(plan.rank, epoch)  # the DataLoader yields what every rank can compute
            seen.append([i for b in got for i in b])
        assert len(seen[0]) == len(seen[1]) == plans[0].epoch_steps(epoch) * batch // world  # same steps on each rank
        shards_of = [{examples[i].inputs["toy"].shard for i in rank} for rank in seen]
        assert not shards_of[0] & shards_of[1]  # ranks read disjoint shards
        flat = seen[0] + seen[1]
        assert len(flat) == len(set(flat))  # no sample twice
        g = plans[0].global_batches()
        assert [list(b[0::2]) for b in g] == plans[0].rank_batches(0, epoch)


@pytest.mark.parametrize("workers", [0, 2])
def test_every_sample_once_per_epoch_when_the_shards_divide_evenly(tmp_path: Path, workers: int) -> None:
    examples = shard_examples(tmp_path, [6] * 8)
    layout = shard_layout(examples)
    orders = []
    for epoch in (0, 1):
        flat = []
        for rank in range(2):
            plan = ShardEpochPlan(layout, 4, seed=0, rank=rank, world=2, num_workers=workers)
            plan.set_epoch(epoch)
            flat += [i for b in loader_batches(examples, plan, workers) for i in b]
        assert sorted(flat) == list(range(48))
        orders.append(flat)
    assert orders[0] != orders[1]  # reshuffled per epoch (seed + epoch)


def test_the_order_is_seeded(tmp_path: Path) -> None:
    layout = shard_layout(shard_examples(tmp_path, UNEVEN))
    a, b, c = (ShardEpochPlan(layout, 4, seed=s, num_workers=2) for s in (1, 1, 2))
    assert a.rank_batches(0, 0) == b.rank_batches(0, 0) != c.rank_batches(0, 0)


@pytest.mark.parametrize("workers", [0, 2, 3])
def test_a_resumed_epoch_continues_with_the_batches_not_yet_seen(tmp_path: Path, workers: int) -> None:
    examples = shard_examples(tmp_path, UNEVEN)
    plan = ShardEpochPlan(shard_layout(examples), 2, seed=1, num_workers=workers)
    plan.set_epoch(1)
    full = loader_batches(examples, plan, workers)
    for start in (1, 4, 7, len(full) - 1):
        plan.set_epoch(1, start)
        assert loader_batches(examples, plan, workers) == full[start:], start


def test_round_robin_leaves_exhausted_workers_out() -> None:
    assert round_robin([3, 1, 2]) == [0, 1, 2, 0, 2, 0]


def test_a_corrupt_member_is_named_or_replaced_keeping_the_step_count(tmp_path: Path) -> None:
    examples = shard_examples(tmp_path, [6, 6])
    plan = ShardEpochPlan(shard_layout(examples), 3, seed=0)
    bad = {examples[4].name.rpartition(":")[2]}
    with pytest.raises(ReadError, match=rf"{examples[4].name}\.txt: cannot decode"):
        loader_batches(examples, plan, 0, bad)
    with pytest.warns(ShardSkipWarning, match=examples[4].name):
        got = loader_batches(examples, plan, 0, bad, skip=True)
    assert len(got) == 4 and 4 not in [i for b in got for i in b]


# -- end to end -------------------------------------------------------------------------------------


def image_shards(tmp_path: Path, per_class: int = 12, per_shard: int = 4) -> str:
    folders = write_image_folders(tmp_path / "images", per_class=per_class)
    samples, _ = samples_from_folder(folders)
    return brace_pattern(write_shards(samples, tmp_path / "shards", max_count=per_shard, quiet=True))


def _final_weights(run_dir: Path) -> dict[str, torch.Tensor]:
    pointer = json.loads((run_dir / "checkpoints" / "last.json").read_text())
    return load_file(str(run_dir / "checkpoints" / pointer["dir"] / "model.safetensors"))


def test_train_and_evaluate_on_shards_with_separate_validation_shards(tmp_path: Path) -> None:
    train = image_shards(tmp_path / "train")
    val = image_shards(tmp_path / "val", per_class=4, per_shard=8)
    config = tiny_config(train, tmp_path / "run", epochs=2, data={"train": train, "val": val})
    result = metaframe.train(config, quiet=True)
    assert result.steps == 2 * 24 // 4 and result.final["val_accuracy"] == 1.0
    report = metaframe.evaluate(tmp_path / "run", data=val, quiet=True)
    assert report["count"] == 8 and report["heads"]["label"]["accuracy"] == 1.0


def test_a_killed_sharded_run_resumes_to_the_same_result(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two DataLoader workers, SIGKILL mid-epoch after a checkpoint: the resumed run equals an uninterrupted one."""
    train = image_shards(tmp_path, per_class=14, per_shard=3)  # 10 shards, the last of one sample
    config = tiny_config(train, tmp_path / "killed", epochs=2, checkpoint_every=1, num_workers=2)
    config["data"]["val_fraction"] = 0
    torch.set_num_threads(1)
    straight = metaframe.train({**config, "output_dir": str(tmp_path / "straight")}, quiet=True)
    per_epoch = straight.steps // 2
    assert per_epoch >= 4
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        import metaframe
        def stop(event):
            if event["step"] == {per_epoch + 3}:
                os.kill(os.getpid(), signal.SIGKILL)
        metaframe.train(sys.argv[1], callback=stop, quiet=True)
        """
    )
    killed = run_module(["python", "-c", script, str(path)])
    assert killed.returncode == -9, killed.stderr
    assert json.loads((tmp_path / "killed" / "checkpoints" / "last.json").read_text())["step"] == per_epoch + 3  # mid epoch 2
    shutil.copytree(tmp_path / "killed", tmp_path / "other-workers")
    resumed = metaframe.train(path, resume=tmp_path / "killed", quiet=True)
    assert resumed.steps == straight.steps
    a, b = _final_weights(resumed.run_dir), _final_weights(straight.run_dir)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=1e-6)
    # another worker count deals the shards anew: said, not silent
    metaframe.train({**config, "num_workers": 0, "output_dir": str(tmp_path / "other-workers")}, resume=tmp_path / "other-workers")
    assert "num_workers changed in the middle of epoch 2" in capsys.readouterr().err


def test_a_member_no_modality_reads_is_named(tmp_path: Path) -> None:
    samples = [ShardSample(f"{i:04d}", "", {"xyz": b"1", "cls": b"a"}) for i in range(4)]
    pattern = brace_pattern(write_shards(samples, tmp_path / "s", max_count=4, quiet=True))
    with pytest.raises(ReadError, match=r"shard-000000.tar:0000: no member for 'image'.*\.png.*the sample has \.xyz, \.cls"):
        metaframe.train(tiny_config(pattern, tmp_path / "run"), quiet=True)
    config: dict[str, Any] = tiny_config(pattern, tmp_path / "run2", data={"train": pattern, "members": {"image": "xyz"}, "val_fraction": 0})
    with pytest.raises(ReadError, match=r"shard-000000.tar:0000.xyz"):
        metaframe.train(config, quiet=True)


DDP_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import metaframe
    steps = []
    result = metaframe.train(sys.argv[1], quiet=True, callback=lambda e: steps.append(e["epoch"]))
    print(json.dumps({"steps": result.steps, "per_epoch": [steps.count(1), steps.count(2)]}))
    """
)


def test_two_ranks_on_uneven_shards_take_the_same_steps(tmp_path: Path) -> None:
    """Seven shards (4 + 3 per rank in an epoch, the last one short): both ranks stop together, none waits."""
    train = image_shards(tmp_path, per_class=13, per_shard=4)
    config = tiny_config(train, tmp_path / "run", epochs=2, distributed_timeout_s=60)
    config["data"]["val_fraction"] = 0
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    procs = []
    for rank in (0, 1):
        env = dict(os.environ, OMP_NUM_THREADS="1", RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2",
                   MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        env.pop("METAFRAME_LOAD_PLUGINS", None)
        procs.append(subprocess.Popen([sys.executable, "-c", DDP_SCRIPT, str(path)], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outs = [p.communicate(timeout=240) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    results = [json.loads(o[0].strip().splitlines()[-1]) for o in outs]
    assert results[0] == results[1]
    examples = load_examples(train, parse_config(config))
    plan = ShardEpochPlan(shard_layout(examples), 4, seed=0, world=2, horizon=2)
    assert results[0]["per_epoch"] == [plan.steps, plan.steps] and results[0]["steps"] == 2 * plan.steps
    assert plan.steps < max(sum(plan._full_batches(r, 0)) for r in range(2))  # without the cut one rank would wait
