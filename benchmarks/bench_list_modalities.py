"""`metaframe list-modalities` wall time against a bare entry-point scan, in the same run.

Usage: .venv/bin/python benchmarks/bench_list_modalities.py [--repeat 15]
Both are run as fresh processes, interleaved, and the medians compared. Listing answers from
the validated-manifest cache (``metaframe_registry.manifest_cache``) once warm; the "cache off"
row is the cost of importing and validating every entry module, as after an install.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from machine import print_machine

BARE = "import importlib.metadata as m; list(m.entry_points(group='metaframe.modalities'))"


def wall(cmd: list) -> float:  # type: ignore[type-arg]
    """Seconds one fresh process takes; a leading ``{"VAR": value}`` dict sets its environment."""
    env = None
    if cmd and isinstance(cmd[0], dict):
        env, cmd = {**os.environ, **cmd[0]}, cmd[1:]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    print_machine()
    cli = str(Path(sys.executable).parent / "metaframe")
    cases = {
        "python -c pass (interpreter floor)": [sys.executable, "-c", "pass"],
        "bare entry_points scan": [sys.executable, "-c", BARE],
        "metaframe list-modalities": [cli, "list-modalities"],
        "metaframe list-modalities --format json": [cli, "list-modalities", "--format", "json"],
        # every manifest imported and validated: the first listing after an install or upgrade
        "metaframe list-modalities, cache off (METAFRAME_CACHE_DIR=)": [{"METAFRAME_CACHE_DIR": ""}, cli, "list-modalities"],
    }
    times: dict[str, list[float]] = {k: [] for k in cases}
    for name, cmd in cases.items():  # warm the file cache
        wall(cmd)
    for _ in range(args.repeat):
        for name, cmd in cases.items():
            times[name].append(wall(cmd))
    base = statistics.median(times["bare entry_points scan"])
    print("| command | median wall (s) | vs bare scan |\n|---|---|---|")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"| {name} | {med:.3f} | {med / base:.2f}x |")


if __name__ == "__main__":
    main()
