"""Atomic writes: the umask's mode, no temporaries left by killed writers, one-line write errors."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from metaframe.atomic import WriteError, atomic_path, atomic_write_text, temporary_name

ROOT = os.name == "posix" and os.geteuid() == 0


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002])
def test_written_files_get_the_umask_mode_not_0600(tmp_path: Path, umask: int) -> None:
    previous = os.umask(umask)
    try:
        atomic_write_text(tmp_path / "config.yaml", "a: 1\n")
        with atomic_path(tmp_path / "weights.bin") as tmp:
            tmp.write_bytes(b"\x00" * 16)
        existing = tmp_path / "old.json"
        existing.write_text("{}")
        os.chmod(existing, 0o600)
        atomic_write_text(existing, "[]")  # a rewrite is a new file: the umask's mode again
    finally:
        os.umask(previous)
    for name in ("config.yaml", "weights.bin", "old.json"):
        assert mode(tmp_path / name) == 0o666 & ~umask, name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml", "old.json", "weights.bin"]


def test_encoder_save_gets_the_umask_mode(tmp_path: Path) -> None:
    from metaframe import FrozenEncoder

    previous = os.umask(0o022)
    try:
        FrozenEncoder(embed_dim=8, depth=1, num_heads=2).save(tmp_path / "enc.safetensors")
    finally:
        os.umask(previous)
    assert mode(tmp_path / "enc.safetensors") == 0o644


KILLED_WRITER = """
import os, signal, sys
from metaframe.atomic import atomic_path
with atomic_path(sys.argv[1]) as tmp:
    tmp.write_text("half")
    os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL and pid liveness are POSIX")
def test_next_write_removes_the_temporary_a_killed_writer_left(tmp_path: Path) -> None:
    target = tmp_path / "ckpt.safetensors"
    target.write_text("previous, complete")
    killed = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(target)], capture_output=True, timeout=120)
    assert killed.returncode == -9
    left = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(left) == 1 and left[0].startswith(".ckpt.safetensors.")
    assert target.read_text() == "previous, complete"  # never half-written

    live = tmp_path / temporary_name(target)  # this process's own: a writer that is still running
    live.write_text("in flight")
    other_target = tmp_path / temporary_name(tmp_path / "ckpt.safetensors.bak")
    other_target.write_text("another file's")
    unrelated = tmp_path / ".ckpt.safetensors.user-notes.tmp"
    unrelated.write_text("not ours")

    atomic_write_text(target, "new")
    assert target.read_text() == "new"
    names = {p.name for p in tmp_path.iterdir()}
    assert left[0] not in names, "the dead writer's temporary is still there"
    assert {live.name, other_target.name, unrelated.name} <= names


def test_unwritable_target_is_one_write_error_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(WriteError) as info:
        atomic_write_text(blocker / "sub" / "out.json", "{}")
    assert str(info.value).startswith(f"{blocker / 'sub' / 'out.json'}: cannot write: ")
    assert isinstance(info.value, OSError) and "\n" not in str(info.value)

    real_open = os.open

    def denied(path, flags, mode=0o777, *a, **k):  # type: ignore[no-untyped-def]
        if str(path).endswith(".tmp"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, mode, *a, **k)

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(WriteError, match=r"out\.json: cannot write: Permission denied \(.*must .* be writable\)") as info:
        atomic_write_text(tmp_path / "out.json", "{}")
    assert info.value.errno == errno.EACCES
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == [blocker]  # nothing left behind


def test_error_inside_the_block_leaves_target_and_folder_clean(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    target.write_text("kept")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("boom")
    with pytest.raises(WriteError, match="x.json: cannot write: No space left on device"):
        with atomic_path(target):
            raise OSError(errno.ENOSPC, "No space left on device")
    assert target.read_text() == "kept" and [p.name for p in tmp_path.iterdir()] == ["x.json"]


def _small_checkpoint(tmp_path: Path) -> Path:
    import torch

    from metaframe import FrozenEncoder

    src = tmp_path / "src.safetensors"
    torch.manual_seed(0)
    FrozenEncoder(embed_dim=8, depth=1, num_heads=2).save(src)
    return src


def test_convert_checkpoint_into_an_unwritable_place_is_one_line(tmp_path: Path, cli) -> None:
    src = _small_checkpoint(tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = cli("convert-checkpoint", str(src), str(blocker / "out.safetensors"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("metaframe convert-checkpoint: error: ") and "out.safetensors: cannot write" in result.stderr

    if not ROOT:  # root writes into a 0o555 folder anyway
        readonly = tmp_path / "readonly"
        readonly.mkdir()
        readonly.chmod(0o555)
        try:
            denied = cli("convert-checkpoint", str(src), str(readonly / "out.safetensors"))
        finally:
            readonly.chmod(0o755)
        assert denied.returncode == 1 and "Traceback" not in denied.stderr
        assert "out.safetensors: cannot write: Permission denied" in denied.stderr
        assert list(readonly.iterdir()) == []
