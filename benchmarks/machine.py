"""The machine a benchmark ran on, printed at the start of every script in benchmarks/.

A figure in docs/benchmarks.md is only worth quoting with the machine beside it: CPU model and
vector flags (AVX-512 changes torch's kernels), torch build and thread count, the load average
(other jobs on a shared machine), Python. Reads /proc and the standard library only (no psutil);
torch is described when it is importable.
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from typing import Any

VECTOR_FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_tile", "neon", "asimd", "sve")


def _cpuinfo() -> dict[str, str]:
    """The first processor's fields of /proc/cpuinfo ({} where there is none: macOS, Windows)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {}
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if fields:
                break
            continue
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return fields


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except (OSError, ValueError, IndexError):
        pass
    return None


def _torch() -> dict[str, Any]:
    try:
        import torch
    except ImportError:
        return {"torch": None}
    config = torch.__config__.show()
    blas = next((b for b in ("mkl", "openblas", "accelerate", "blis") if f"blas_info={b}" in config.lower()), "?")
    info: dict[str, Any] = {
        "torch": torch.__version__,
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "torch_blas": blas,
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    return info


def fingerprint() -> dict[str, Any]:
    """What a benchmark's figures depend on, as a flat dict (JSON-serialisable)."""
    cpu = _cpuinfo()
    flags = set((cpu.get("flags") or cpu.get("Features") or "").split())
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 0
    try:
        load = tuple(round(x, 2) for x in os.getloadavg())
    except OSError:
        load = None
    return {
        "cpu": cpu.get("model name") or platform.processor() or platform.machine(),
        "arch": platform.machine(),
        "cpus": os.cpu_count(),
        "cpus_usable": usable,
        "vector_flags": [f for f in VECTOR_FLAGS if f in flags],
        "memory_gib": _memory_gib(),
        "load_average": load,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        **_torch(),
    }


def format_machine(fp: dict[str, Any]) -> str:
    """One line: ``machine: <cpu> ... | torch ... | load ... | python ...``."""
    memory = f", {fp['memory_gib']:.0f} GiB" if fp.get("memory_gib") else ""
    parts = [
        f"{fp['cpu']} ({fp['arch']}, {fp['cpus_usable']}/{fp['cpus']} CPUs usable{memory}, "
        f"flags {' '.join(fp['vector_flags']) or 'none of ' + '/'.join(VECTOR_FLAGS[:2])})"
    ]
    if fp.get("torch"):
        parts.append(
            f"torch {fp['torch']} (CPU capability {fp['torch_cpu_capability']}, BLAS {fp['torch_blas']}), "
            f"{fp['torch_threads']} torch threads, {fp['torch_interop_threads']} interop, "
            f"OMP_NUM_THREADS={fp['omp_num_threads'] or 'unset'}" + (f", GPU {fp['cuda']}" if fp.get("cuda") else "")
        )
    else:
        parts.append(f"no torch, OMP_NUM_THREADS={fp['omp_num_threads'] or 'unset'}")
    load = fp.get("load_average")
    parts.append("load average " + (" ".join(f"{x:.2f}" for x in load) if load else "unknown") + " (1/5/15 min)")
    parts.append(f"Python {fp['python']}, {fp['os']}")
    return "machine: " + " | ".join(parts)


def print_machine() -> dict[str, Any]:
    """Print the machine line (call it after setting torch's thread count) and return the fingerprint."""
    fp = fingerprint()
    print(format_machine(fp), flush=True)
    return fp


if __name__ == "__main__":
    print_machine()
    sys.exit(0)
