"""How long the conformance kit takes per installed modality (every check, one process).

Usage: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_kit.py
The first modality also pays for building the kit's tiny encoder (timm import); the table
gives each modality's total and its slowest check.
"""

from __future__ import annotations

import time

from machine import print_machine

import metaframe
from metaframe.testing import check_modality


def main() -> None:
    start = time.perf_counter()
    print_machine()
    print(f"{'modality':14} {'checks':>6} {'total s':>8}  slowest check")
    for name in metaframe.list_modalities():
        report = check_modality(name, raise_on_failure=False)
        slowest = max(report.results, key=lambda r: r.seconds)
        total = sum(r.seconds for r in report.results)
        status = "" if report.ok else "  (FAILURES: " + ", ".join(r.check for r in report.failures) + ")"
        print(f"{name:14} {len(report.results):>6} {total:8.2f}  {slowest.check} {slowest.seconds:.2f}s{status}")
    print(f"wall time, imports included: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
