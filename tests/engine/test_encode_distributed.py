"""``metaframe encode --out DIR``: shards from one or two processes (gloo), resumable after a kill,
equal to a one-process run, one Parquet index at the end."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import metaframe
from engine_helpers import run_module
from metaframe.engine.encode_shards import IncompleteEncodeError, finalize_encoded, read_encoded
from metaframe.engine.encoding import EncodeResult

TS = ["--tokenizer-option", "in_channels=1", "--batch-size", "3", "--workers", "0", "-q"]


def write_series(root: Path, n: int = 22, seed: int = 0) -> Path:
    """``n`` one-channel series of skewed lengths (most short, some long) as .npy files."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True)
    for i in range(n):
        length = int(rng.choice([6, 10, 24, 120], p=[0.4, 0.3, 0.2, 0.1]))
        np.save(root / f"s{i:03d}.npy", rng.normal(size=(length, 1)).astype(np.float32))
    return root


@pytest.fixture(scope="module")
def series(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_series(tmp_path_factory.mktemp("data") / "series")


@pytest.fixture(scope="module")
def one_process(series: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[torch.Tensor, list[str]]:
    """The reference: one process, one file, inputs in order (no bucketing)."""
    out = tmp_path_factory.mktemp("ref") / "ref.safetensors"
    done = run_module(["metaframe", "encode", "time_series", str(series), "--out", str(out), "--no-bucketing", *TS])
    assert done.returncode == 0, done.stderr[-3000:]
    from safetensors.torch import load_file

    return load_file(str(out))["embeddings"], json.loads(Path(str(out) + ".json").read_text())["rows"]


def test_torchrun_two_processes_write_shards_and_one_index_equal_to_one_process(
    series: Path, one_process: tuple[torch.Tensor, list[str]], tmp_path: Path
) -> None:
    out = tmp_path / "emb"
    done = run_module(["torchrun", "--standalone", "--nproc-per-node", "2", "-m", "metaframe", "encode", "time_series",
                       str(series), "--out", str(out), "--shard-size", "4", *TS], timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    names = sorted(p.name for p in out.glob("embeddings-*.safetensors"))
    assert len(names) == 6  # 22 inputs, 4 per shard
    assert {n.split("-")[1] for n in names} == {"rank0", "rank1"}, "both processes wrote shards"
    import pyarrow.parquet as pq

    index = pq.read_table(out / "index.parquet").to_pydict()
    assert set(index) == {"id", "source", "shard", "offset", "modality", "encoder"}
    assert index["id"] == list(range(22)), "each input exactly once, in input order"
    assert set(index["modality"]) == {"time_series"} and len(set(index["encoder"])) == 1
    reference, rows = one_process
    encoded = read_encoded(out)
    assert encoded.sources == rows
    torch.testing.assert_close(encoded.embeddings, reference, atol=1e-4, rtol=0)
    search = metaframe.Index.from_encoded(out)
    assert len(search) == 22 and search.search(reference[5], k=1).sources[0][0] == rows[5]


KILLED = textwrap.dedent(
    """
    import os, signal, sys
    import torch, metaframe
    from metaframe_registry import MetaframeError

    def die(event):
        if os.environ.get("KILL_RANK") == os.environ["RANK"]:
            os.kill(os.getpid(), signal.SIGKILL)  # right after this rank's first shard

    torch.manual_seed(0)
    try:
        result = metaframe.encode("time_series", [sys.argv[1]], sys.argv[2], tokenizer_options={"in_channels": 1},
                                  batch_size=3, num_workers=0, quiet=True, shard_size=4, callback=die)
    except MetaframeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    print(f"encoded {result.encoded} resumed {result.resumed}")
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _two_ranks(data: Path, out: Path, kill_rank: str | None) -> list[subprocess.CompletedProcess[str]]:
    port, procs = _free_port(), []
    for rank in (0, 1):
        env = dict(os.environ, OMP_NUM_THREADS="1", RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2",
                   MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        env.pop("METAFRAME_LOAD_PLUGINS", None)
        if kill_rank is not None:
            env["KILL_RANK"] = kill_rank
        procs.append(subprocess.Popen([sys.executable, "-c", KILLED, str(data), str(out)], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = []
    try:
        for p in procs:
            out_text, err = p.communicate(timeout=200)
            results.append(subprocess.CompletedProcess(p.args, p.returncode, out_text, err))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    return results


def test_a_run_killed_part_way_resumes_from_its_complete_shards_to_the_same_embeddings(
    series: Path, one_process: tuple[torch.Tensor, list[str]], tmp_path: Path
) -> None:
    out = tmp_path / "emb"
    rank0, rank1 = _two_ranks(series, out, kill_rank="1")
    assert rank1.returncode == -9, rank1.stderr[-2000:]
    assert rank0.returncode == 1 and "error: rank 0 of 2: lost contact" in rank0.stderr, rank0.stderr[-2000:]
    assert not (out / "index.parquet").exists()
    written = sorted(p.name for p in out.glob("embeddings-*.parquet"))
    assert "embeddings-rank1-000001.parquet" in written and len(written) < 6, written
    with pytest.raises(IncompleteEncodeError, match="run the same encode command again"):
        finalize_encoded(out)

    rank0, rank1 = _two_ranks(series, out, kill_rank=None)  # the same command again
    assert rank0.returncode == 0 and rank1.returncode == 0, rank0.stderr[-2000:] + rank1.stderr[-2000:]
    resumed = [int(r.stdout.split()[-1]) for r in (rank0, rank1)]
    encoded = [int(r.stdout.split()[1]) for r in (rank0, rank1)]
    sizes = {k: len(range(4 * k, min(4 * k + 4, 22))) for k in range(6)}
    expected = sum(sizes[int(name[-14:-8])] for name in written)
    assert resumed[0] == resumed[1] == expected and sum(encoded) == 22 - expected, (resumed, encoded, written)
    reference, rows = one_process
    result = read_encoded(out)
    assert result.sources == rows
    torch.testing.assert_close(result.embeddings, reference, atol=1e-4, rtol=0)


def _encode_in_process(inputs: list[Path], out: Path, seed: int = 0, **options: Any) -> EncodeResult:
    torch.manual_seed(seed)  # the fresh tokenizer's weights, as `metaframe encode --seed`
    options.setdefault("quiet", True)
    return metaframe.encode("time_series", inputs, out, tokenizer_options={"in_channels": 1}, batch_size=3,
                            num_workers=0, **options)


def test_resuming_with_another_model_or_other_inputs_is_refused(series: Path, tmp_path: Path) -> None:
    out = tmp_path / "emb"
    first = _encode_in_process([series], out, shard_size=8)
    assert (first.encoded, first.resumed, first.index) == (22, 0, out / "index.parquet")
    again = _encode_in_process([series], out, shard_size=8)  # everything done: nothing to embed, same index
    assert (again.encoded, again.resumed) == (0, 22)
    with pytest.raises(metaframe.ConfigError, match="tokenizer_sha256") as info:
        _encode_in_process([series], out, seed=1, shard_size=8)
    assert "resume only with the same command, or choose another --out folder" in str(info.value)
    with pytest.raises(metaframe.ConfigError, match="inputs: 22 then, 5 now"):
        _encode_in_process(sorted(series.glob("*.npy"))[:5], out, shard_size=8)
    with pytest.raises(metaframe.ConfigError, match="shard_size: 8 then, 4 now"):
        _encode_in_process([series], out, shard_size=4)


def test_an_input_rewritten_before_the_resume_is_refused(tmp_path: Path) -> None:
    """Same names, other contents: a resume would mix old and new embeddings, so it is another encode."""
    own = write_series(tmp_path / "series", n=6)
    out = tmp_path / "emb"
    _encode_in_process([own], out, shard_size=4)
    np.save(own / "s002.npy", np.ones((7, 1), dtype=np.float32))  # rewritten in place
    with pytest.raises(metaframe.ConfigError, match="inputs_sha256"):
        _encode_in_process([own], out, shard_size=4)


def test_finalize_on_its_own_and_a_single_file_under_torchrun_is_refused(
    series: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "emb"
    _encode_in_process([series], out, quiet=False)
    bar = capsys.readouterr().err
    assert "encode time_series: 100%" in bar and "22/22" in bar and "file/s" in bar, bar[-500:]
    (out / "index.parquet").unlink()
    orphan = out / "embeddings-rank1-000000.safetensors"  # vectors a killed rank 1 left without their records
    orphan.write_bytes(b"partial")
    with pytest.raises(IncompleteEncodeError, match="no index.parquet yet"):
        read_encoded(out)
    done = run_module(["metaframe", "encode", "--finalize", str(out)])
    assert done.returncode == 0 and "22 rows over 1 shards" in done.stdout, done.stderr
    assert read_encoded(out).ids == list(range(22))
    assert not orphan.exists() and (out / "embeddings-rank0-000000.safetensors").exists()
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(metaframe.ConfigError, match="must name a folder"):
        metaframe.encode("time_series", [series], tmp_path / "x.npy", quiet=True)


def write_tars(series: Path, root: Path, per_tar: int = 8, corrupt: str | None = None) -> list[Path]:
    """The series files as WebDataset shards (``KEY.npy`` members); ``corrupt``: a key whose member is garbage."""
    import io
    import tarfile

    root.mkdir(parents=True)
    files = sorted(series.glob("*.npy"))
    tars = []
    for t in range(0, len(files), per_tar):
        path = root / f"shard-{t // per_tar:06d}.tar"
        with tarfile.open(path, "w") as tar:
            for f in files[t : t + per_tar]:
                data = b"not an npy file" if f.stem == corrupt else f.read_bytes()
                info = tarfile.TarInfo(f"{f.stem}.npy")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        tars.append(path)
    return tars


def test_encode_from_webdataset_shards_one_output_shard_per_input_shard_split_across_ranks(
    series: Path, one_process: tuple[torch.Tensor, list[str]], tmp_path: Path
) -> None:
    tars = write_tars(series, tmp_path / "tars", corrupt="s004")
    pattern = str(tmp_path / "tars" / "shard-{000000..000002}.tar")
    out = tmp_path / "emb"
    done = run_module(["torchrun", "--standalone", "--nproc-per-node", "2", "-m", "metaframe", "encode", "time_series",
                       pattern, "--out", str(out), "--skip-errors", *TS], timeout=240)
    assert done.returncode == 1, done.stderr[-3000:]  # one member could not be read: reported, exit status 1
    assert f"skipped {tars[0]}:s004: not a valid .npy file" in done.stderr
    names = sorted(p.name for p in out.glob("embeddings-*.safetensors"))
    assert names == ["embeddings-rank0-000000.safetensors", "embeddings-rank0-000002.safetensors",
                     "embeddings-rank1-000001.safetensors"]
    summary = json.loads((out / "index.json").read_text())
    assert [f["source"] for f in summary["failed"]] == [f"{tars[0]}:s004"]
    encoded = read_encoded(out)
    reference, rows = one_process
    keep = [i for i in range(22) if i != 4]
    assert encoded.ids == keep, "ids are positions in the whole input; the failed sample's is left out"
    assert encoded.sources[:2] == [f"{tars[0]}:s000", f"{tars[0]}:s001"]
    torch.testing.assert_close(encoded.embeddings, reference[keep], atol=1e-4, rtol=0)


def test_a_truncated_input_shard_stops_naming_it_or_is_reported_and_the_rest_encoded(
    series: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tars = write_tars(series, tmp_path / "tars")
    import tarfile

    with tarfile.open(tars[1]) as tar:
        cut = tar.getmembers()[3].offset_data + 10  # in the middle of the fourth sample's member
    tars[1].write_bytes(tars[1].read_bytes()[:cut])
    with pytest.raises(metaframe.ReadError, match="shard-000001.tar.*corrupt or truncated tar at key"):
        _encode_in_process(tars, tmp_path / "stopped")
    result = _encode_in_process(tars, tmp_path / "emb", skip_errors=True)
    assert "skipped: " in capsys.readouterr().err
    encoded = read_encoded(tmp_path / "emb")
    assert all(":s" in s for s in encoded.sources) and encoded.sources[:8] == [f"{tars[0]}:s{i:03d}" for i in range(8)]
    assert encoded.sources[-6:] == [f"{tars[2]}:s{i:03d}" for i in range(16, 22)]
    assert result.encoded == 8 + 3 + 6, "the whole shards around the cut, and the samples before it"
