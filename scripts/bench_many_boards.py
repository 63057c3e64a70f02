#!/usr/bin/env python3
"""How `check --facts` scales with the number of boards: the shipped example with its board
copied N times (distinct serials), N = 1 (the reference, in the same run), 500, 1000 and 2000.
Linear means the per-board cost stays flat as N grows; a quadratic step (a scan of every check
per board) shows as a per-board cost that doubles with N. Times are medians of --runs runs;
these machines are noisy, so compare the columns of one run, not runs of different days.

Usage: python scripts/bench_many_boards.py [--runs N] [--sizes 500,1000,2000]
"""
from __future__ import annotations

import argparse
import copy
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "facts-rk3588-mismatch.json"


def facts_with(boards: int, directory: Path) -> Path:
    data = json.loads(EXAMPLE.read_text())
    board = data["devices"][0]
    data["devices"] = [dict(copy.deepcopy(board), serial=f"board{i:05d}") for i in range(boards)]
    path = directory / f"facts-{boards}.json"
    path.write_text(json.dumps(data))
    return path


def timed(path: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "rknn_envcheck", "check", "--facts", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="500,1000,2000")
    args = parser.parse_args()
    sizes = [1] + [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        paths = {n: facts_with(n, Path(tmp)) for n in sizes}
        times: dict[int, list[float]] = {n: [] for n in sizes}
        for _ in range(args.runs):  # interleaved, so load changes hit every size alike
            for n in sizes:
                times[n].append(timed(paths[n]))
    base = statistics.median(times[1])
    print(f"{'boards':>7} {'median s':>9} {'- 1 board':>10} {'ms/board':>9}")
    for n in sizes:
        median = statistics.median(times[n])
        extra = median - base
        print(f"{n:>7} {median:>9.2f} {extra:>10.2f} {(extra / (n - 1) * 1000 if n > 1 else 0):>9.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
