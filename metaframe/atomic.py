"""Atomic file writes and content hashes: an interrupted run never leaves a half-written file.

A write goes to a hidden temporary beside the target, ``.<name>.<host>-<pid>.<token>.tmp``,
created with mode ``0o666`` so the kernel applies the umask (and a folder's default ACL) as
for any file the user writes, then is renamed into place. A process killed mid-write leaves
its temporary behind; the next write of the same target on the same host removes those whose
process is gone. A write that fails is a ``WriteError`` naming the target, never a traceback.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import socket
import stat
from pathlib import Path
from typing import Iterator

from metaframe_registry import MetaframeError


class WriteError(MetaframeError, OSError):
    """A file metaframe could not write (a read-only folder, a full disk): names the target."""


def _host_tag() -> str:
    return hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]


_TEMP = re.compile(r"^(?P<host>[0-9a-f]{8})-(?P<pid>\d+)\.[0-9a-f]{8}$")


def temporary_name(target: Path) -> str:
    """The hidden temporary's name for ``target`` in this process (a fresh token each call)."""
    return f".{target.name}.{_host_tag()}-{os.getpid()}.{secrets.token_hex(4)}.tmp"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # this process: another thread may be writing the same target
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, under another user
        return True
    return True


def stale_temporaries(target: Path) -> list[Path]:
    """Temporaries of ``target`` left by a process of this host that no longer runs."""
    if os.name != "posix":  # no cheap liveness check: leave them
        return []
    prefix, host = f".{target.name}.", _host_tag()
    stale = []
    with contextlib.suppress(OSError), os.scandir(target.parent) as entries:
        for entry in entries:
            name = entry.name
            if not (name.startswith(prefix) and name.endswith(".tmp")):
                continue
            m = _TEMP.match(name[len(prefix) : -len(".tmp")])
            if m and m["host"] == host and not _alive(int(m["pid"])):
                stale.append(target.parent / name)
    return stale


def _create_temporary(target: Path) -> Path:
    for _ in range(100):
        tmp = target.parent / temporary_name(target)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # mode 0o666 & ~umask
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"{target.parent}: cannot create a unique temporary file for {target.name}")


def _write_error(target: Path, exc: OSError, creating: bool) -> WriteError:
    reason = exc.strerror or str(exc) or type(exc).__name__
    hint = (
        f" (the file is written to a temporary beside it and renamed into place, so the folder {target.parent} "
        "must exist or be creatable, and be writable)"
        if creating
        else ""
    )
    error = WriteError(f"{target}: cannot write: {reason}{hint}")
    error.errno = exc.errno
    return error


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place only if the block succeeds.

    The file gets the mode any new file of the user gets (``0o666 & ~umask``), even when the
    block's writer replaced the temporary by its own (safetensors writes ``0o600``); an ``OSError``
    (the folder is read-only, the disk is full) is a ``WriteError`` naming ``path``.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        for stale in stale_temporaries(target):
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()
        tmp_path = _create_temporary(target)
        wanted = stat.S_IMODE(tmp_path.stat().st_mode)  # 0o666 & ~umask, as the kernel applied it
    except OSError as exc:
        raise _write_error(target, exc, creating=True) from exc
    try:
        try:
            yield tmp_path
            if stat.S_IMODE(tmp_path.stat().st_mode) != wanted:  # a writer that replaced it (safetensors: 0o600)
                os.chmod(tmp_path, wanted)
            with open(tmp_path, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp_path, target)
        except WriteError:
            raise
        except OSError as exc:
            raise _write_error(target, exc, creating=False) from exc
    finally:
        with contextlib.suppress(OSError):
            if tmp_path.exists():
                tmp_path.unlink()


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()
