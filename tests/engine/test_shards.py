"""WebDataset shards: shard specs, sequential reading, corrupt members named by shard and key, disjoint splits."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from metaframe_registry import ConfigError, ReadError

from metaframe.engine.shard_writer import brace_pattern, parse_size, write_shards
from metaframe.engine.shards import (
    ShardSample,
    ShardSkipWarning,
    expand_shards,
    index_shard,
    iter_shard_samples,
    read_label,
    split_name,
    split_shards,
)


def make_shards(folder: Path, count: int = 25, per_shard: int = 10) -> list[str]:
    samples = (ShardSample(f"{i:04d}", "", {"txt": f"text {i}".encode(), "cls": str(i % 3).encode()}) for i in range(count))
    return [str(p) for p in write_shards(samples, folder, max_count=per_shard, quiet=True)]


def test_brace_pattern_names_every_shard_in_order(tmp_path: Path) -> None:
    shards = make_shards(tmp_path, 25, 10)
    pattern = brace_pattern([Path(s) for s in shards])
    assert pattern == str(tmp_path / "shard-{000000..000002}.tar")
    assert expand_shards(pattern) == shards
    assert expand_shards(str(tmp_path / "shard-{000000,000002}.tar")) == [shards[0], shards[2]]
    assert expand_shards(str(tmp_path / "*.tar")) == shards
    assert expand_shards([shards[1], shards[0]]) == [shards[1], shards[0]]


def test_a_missing_shard_is_named(tmp_path: Path) -> None:
    make_shards(tmp_path, 25, 10)
    with pytest.raises(ConfigError) as info:
        expand_shards(str(tmp_path / "shard-{000000..000004}.tar"))
    assert "shard-000003.tar" in str(info.value) and "2 of the 5" in str(info.value)
    with pytest.raises(ConfigError, match="no shard matches"):
        expand_shards(str(tmp_path / "nothing-*.tar"))


def test_samples_come_back_in_order_with_their_members(tmp_path: Path) -> None:
    shards = make_shards(tmp_path, 25, 10)
    samples = list(iter_shard_samples(shards))
    assert [s.key for s in samples] == [f"{i:04d}" for i in range(25)]
    assert samples[13].members == {"txt": b"text 13", "cls": b"1"} and samples[13].shard == shards[1]
    indexed = [s for shard in shards for s in index_shard(shard)]
    assert [s.key for s in indexed] == [s.key for s in samples]
    assert indexed[13].members["txt"].read() == b"text 13"


def test_member_names_follow_the_webdataset_convention() -> None:
    assert split_name("a/b/000017.seg.PNG") == ("a/b/000017", "seg.png")
    assert split_name("000017.cls") == ("000017", "cls")


def test_labels_from_cls_and_json() -> None:
    assert read_label("cls", b"3\n", "label", "s:k") == 3
    assert read_label("cls", b"dog", "label", "s:k") == "dog"
    assert read_label("json", b'{"label": "cat", "x": 1}', "label", "s:k") == "cat"
    with pytest.raises(ReadError, match="s:k.*no field 'label'"):
        read_label("json", b'{"x": 1}', "label", "s:k")


def truncate(shard: str, keep: int) -> None:
    data = Path(shard).read_bytes()
    Path(shard).write_bytes(data[:keep])


def test_a_corrupt_shard_names_shard_and_key_or_is_skipped(tmp_path: Path) -> None:
    shards = make_shards(tmp_path, 25, 10)
    truncate(shards[1], 3000)  # two 1 KiB-padded members per sample: sample 0010 whole, 0011 cut
    with pytest.raises(ReadError) as info:
        list(iter_shard_samples(shards))
    assert shards[1] in str(info.value) and "'0011'" in str(info.value)
    with pytest.warns(ShardSkipWarning, match="shard-000001.tar"):
        kept = [s.key for s in iter_shard_samples(shards, skip_errors=True)]
    assert kept == [f"{i:04d}" for i in range(10)] + ["0010"] + [f"{i:04d}" for i in range(20, 25)]
    with pytest.raises(ReadError, match="'0011'"):
        index_shard(shards[1])
    reported: list[ReadError] = []
    assert [s.key for s in index_shard(shards[1], skip_errors=True, on_skip=reported.append)] == ["0010"]
    assert len(reported) == 1


def test_a_bad_header_is_a_read_error(tmp_path: Path) -> None:
    shards = make_shards(tmp_path, 10, 10)
    data = bytearray(Path(shards[0]).read_bytes())
    data[2048 + 148 : 2048 + 156] = b"garbage!"  # the checksum of the third member's header
    Path(shards[0]).write_bytes(bytes(data))
    with pytest.raises(ReadError, match=r"shard-000000.tar: corrupt or truncated tar at key '0000'"):
        list(iter_shard_samples(shards))


@pytest.mark.parametrize("world, workers", [(1, 1), (2, 1), (2, 3), (3, 2)])
def test_split_shards_is_disjoint_and_complete(world: int, workers: int) -> None:
    shards = [f"s{i}.tar" for i in range(17)]
    for epoch in (0, 1):
        parts = [
            split_shards(shards, rank=r, world_size=world, worker_id=w, num_workers=workers, seed=5, epoch=epoch)
            for r in range(world) for w in range(workers)
        ]
        dealt = [s for part in parts for s in part]
        assert sorted(dealt) == sorted(shards) and len(dealt) == len(set(dealt))


def test_split_shards_is_seeded_per_epoch() -> None:
    shards = [f"s{i}.tar" for i in range(20)]
    one = split_shards(shards, rank=0, world_size=1, worker_id=0, num_workers=1, seed=1, epoch=0)
    assert one == split_shards(shards, rank=0, world_size=1, worker_id=0, num_workers=1, seed=1, epoch=0)
    assert one != split_shards(shards, rank=0, world_size=1, worker_id=0, num_workers=1, seed=1, epoch=1)
    assert sorted(one) == sorted(shards)


def test_write_shards_by_size_and_atomically(tmp_path: Path) -> None:
    samples = [ShardSample(f"{i:04d}", "", {"bin": bytes(1000)}) for i in range(10)]
    paths = write_shards(samples, tmp_path, max_size=parse_size("5kB"), quiet=True)
    assert [p.stat().st_size for p in paths] == [2 * 1536 + 1024] * 5  # 1.5 KiB a sample + the 1 KiB end: 2 fit in 5 kB
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert [m.name for m in tarfile.open(paths[0]).getmembers()] == ["0000.bin", "0001.bin"]
    with pytest.raises(ConfigError, match="already holds shards"):
        write_shards(samples, tmp_path, max_count=5, quiet=True)
    assert parse_size("64MB") == 64_000_000 and parse_size("1GiB") == 1 << 30
    with pytest.raises(ConfigError, match="expected a size"):
        parse_size("big")


def test_gzipped_shards_stream_but_training_asks_for_plain_tar(tmp_path: Path) -> None:
    plain = make_shards(tmp_path / "plain", 4, 4)[0]
    packed = tmp_path / "shard.tar.gz"
    with tarfile.open(plain) as source, tarfile.open(packed, "w:gz") as target:
        for member in source.getmembers():
            target.addfile(member, source.extractfile(member))
    assert [s.members for s in iter_shard_samples([str(packed)])] == [s.members for s in iter_shard_samples([plain])]
    with pytest.raises(ConfigError, match="compressed tar"):
        index_shard(str(packed))
