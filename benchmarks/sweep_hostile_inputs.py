"""The hostile-input tally: the kit's generated sweep over every installed modality's formats.

Usage: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/sweep_hostile_inputs.py [--details] [modality ...]
For each modality: the hostile cases read (metaframe.testing.hostile), how many ended in a
ReadError naming the file, how many read fine into a finite sample, and the failures by
exception type; ``--details`` lists each failure (extension, case, type, first line).
The table is quoted in docs/hardening.md.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from machine import print_machine

import metaframe
from metaframe.testing.sweep import sweep_reader


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modalities", nargs="*", help="modalities to sweep (default: every installed one)")
    parser.add_argument("--details", action="store_true", help="list every failure")
    args = parser.parse_args()
    start = time.perf_counter()
    print_machine()
    names = args.modalities or metaframe.list_modalities()
    totals: Counter[str] = Counter()
    rows, details = [], []
    for name in names:
        outcomes = sweep_reader(name)
        counts = Counter(o.status for o in outcomes)
        failures = Counter(o.error for o in outcomes if o.status == "fail")
        totals.update(counts)
        totals["cases"] += len(outcomes)
        by_type = ", ".join(f"{error} {n}" for error, n in failures.most_common()) or "-"
        slowest = max(outcomes, key=lambda o: o.seconds)
        rows.append(
            f"| {name} | {len(outcomes)} | {counts['read-error']} | {counts['read-fine']} | {counts['fail']} | {by_type} "
            f"| {slowest.seconds:.2f} |"
        )
        details.extend(f"{name} {o.line()}" for o in outcomes if o.status == "fail")
    print("| modality | cases | clean ReadError | read fine | FAIL | FAIL by type | slowest read s |")
    print("| --- | ---: | ---: | ---: | ---: | --- | ---: |")
    print("\n".join(rows))
    print(
        f"| **all** | {totals['cases']} | {totals['read-error']} | {totals['read-fine']} | {totals['fail']} | | |"
    )
    if args.details and details:
        print("\nfailures:")
        print("\n".join(details))
    print(f"wall time, imports included: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
