"""Two gloo processes on the CPU: a stalled or killed rank ends the run in seconds, in one line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from engine_helpers import tiny_config, write_image_folders

SCRIPT = textwrap.dedent(
    """
    import os, signal, sys, time
    import metaframe
    from metaframe_registry import MetaframeError

    def misbehave(event):
        if os.environ["RANK"] == "1" and event["step"] == 1:
            if sys.argv[2] == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(60)

    try:
        metaframe.train(sys.argv[1], callback=misbehave, quiet=True)
    except MetaframeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _two_ranks(config: Path, how: str) -> subprocess.CompletedProcess[str]:
    """Rank 0's result; rank 1 stalls (``sleep``) or dies (``kill``) after its first step."""
    port = _free_port()
    procs = []
    for rank in (0, 1):
        env = dict(os.environ, OMP_NUM_THREADS="1", RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2",
                   MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        env.pop("METAFRAME_LOAD_PLUGINS", None)
        procs.append(subprocess.Popen([sys.executable, "-c", SCRIPT, str(config), how], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    try:
        out, err = procs[0].communicate(timeout=150)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.communicate()
    return subprocess.CompletedProcess(procs[0].args, procs[0].returncode, out, err)


@pytest.mark.parametrize("how", ["sleep", "kill"])
def test_a_stalled_or_dead_rank_stops_the_run_in_one_line(tmp_path: Path, how: str) -> None:
    data = write_image_folders(tmp_path / "images", per_class=8)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(tiny_config(data, tmp_path / "run", epochs=1, distributed_timeout_s=4)))
    rank0 = _two_ranks(path, how)
    assert rank0.returncode == 1, rank0.stderr[-3000:]
    assert "Traceback" not in rank0.stderr, rank0.stderr[-3000:]
    errors = [line for line in rank0.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith("error: rank 0 of 2: "), rank0.stderr[-3000:]
    if how == "sleep":
        assert "timed out after 4 s (distributed_timeout_s)" in errors[0]
