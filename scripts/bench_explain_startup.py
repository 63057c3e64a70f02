"""Start-up of `rknn-envcheck explain` on a small log against `rknn-envcheck --version`, in the same run.

    python scripts/bench_explain_startup.py [--runs 15] [--log FILE] [--compare OTHER_CHECKOUT]

A six-line log (toolkit banner, runtime and driver versions, two errors) is explained; the
commands alternate and the median wall and CPU time (user + system of the child) are printed with
the ratio to `--version`. `--compare DIR` also times DIR's copy of the package (PYTHONPATH=DIR),
e.g. a copy of the tree before a change, so before/after are measured under the same load.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SMALL_LOG = """I rknn-toolkit2 version: 2.3.2
I RKNN: [10:01:02.123] RKNN Runtime Information, librknnrt version: 1.4.0 (a10f100eb@2022-09-09T09:07:14)
I RKNN: [10:01:02.124] RKNN Driver Information, version: 0.8.2
E RKNN: [10:01:02.125] Invalid RKNN model version 6
E RKNNAPI: rknn_server version is too old, please update rknn_server to at least 2.3.0
some other line
"""


def _child_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--log", help="the log to explain (default: a six-line sample)")
    parser.add_argument("--compare", metavar="DIR", help="another checkout to time in the same run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        log = args.log or os.path.join(tmp, "small.log")
        if not args.log:
            Path(log).write_text(SMALL_LOG, encoding="utf-8")
        program = [sys.executable, "-m", "rknn_envcheck"]
        cases = {"explain": (str(ROOT), program + ["explain", log]), "--version": (str(ROOT), program + ["--version"])}
        if args.compare:
            cases["explain (compare)"] = (args.compare, program + ["explain", log])
        wall = {name: [] for name in cases}
        cpu = {name: [] for name in cases}
        for _ in range(args.runs):
            for name, (root, argv) in cases.items():
                env = dict(os.environ, PYTHONPATH=root)
                before_cpu, start = _child_cpu(), time.perf_counter()
                subprocess.run(argv, env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                wall[name].append(time.perf_counter() - start)
                cpu[name].append(_child_cpu() - before_cpu)
    reference = statistics.median(wall["--version"])
    print(f"median of {args.runs} alternating runs, load average {os.getloadavg()[0]:.1f}")
    for name in cases:
        median = statistics.median(wall[name])
        print(f"  {name:<18} {median * 1000:6.0f} ms wall {statistics.median(cpu[name]) * 1000:6.0f} ms CPU  ({median / reference:.2f}x --version)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
