#!/usr/bin/env python3
"""Benchmark of the default-target decision (issue 17 §1): what choosing the user's environment
costs `rknn-envcheck host` and the doctor, against the same commands with the decision stubbed
out (the tool's own interpreter, as before issue 17), and `python -m pip --version`, interleaved
in one run.

    goal: the decision adds no measurable time when nothing is active and python3 on PATH is the
    tool's own (no subprocess); a pyenv-style shim costs one interpreter start (shown separately)

Usage: python scripts/bench_default_target.py [--runs N]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STUBBED = ("import sys; import rknn_envcheck.probes.pythons as p; "
           "p.default_target = lambda env=None, own_prefix=None: p.Target(None, 'stubbed: the tool\\'s own', 'own'); "
           "from rknn_envcheck.cli import main; sys.exit(main(sys.argv[1:]))")


def timed(argv, env) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return (time.perf_counter() - start) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    own_bin = os.path.dirname(sys.executable)
    with tempfile.TemporaryDirectory() as tmp:
        shims = Path(tmp) / "shims"
        shims.mkdir()
        shim = shims / "python3"
        shim.write_text(f"#!/bin/sh\nexec {sys.executable} \"$@\"\n")
        shim.chmod(0o755)
        base = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CONDA_PREFIX")}
        plain = dict(base, PATH=os.pathsep.join([own_bin, "/usr/bin", "/bin"]))
        shimmed = dict(base, PATH=os.pathsep.join([str(shims), own_bin, "/usr/bin", "/bin"]))
        commands = {
            "python -m pip --version": ([sys.executable, "-m", "pip", "--version"], plain),
            "host, decision stubbed (reference)": ([sys.executable, "-c", STUBBED, "host"], plain),
            "host, default_target() (own on PATH)": ([sys.executable, "-m", "rknn_envcheck", "host"], plain),
            "host, default_target() (pyenv-style shim)": ([sys.executable, "-m", "rknn_envcheck", "host"], shimmed),
            "doctor --no-boards, stubbed (reference)": ([sys.executable, "-c", STUBBED, "--no-boards"], plain),
            "doctor --no-boards, default_target()": ([sys.executable, "-m", "rknn_envcheck", "--no-boards"], plain),
        }
        times = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, (argv, env) in commands.items():
                times[name].append(timed(argv, env))
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"{'command':45s} median ms   (runs: {args.runs})")
    for name, value in medians.items():
        print(f"{name:45s} {value:8.1f}")
    print(f"host: default_target / stubbed = {medians['host, default_target() (own on PATH)'] / medians['host, decision stubbed (reference)']:.2f}x")
    print(f"doctor: default_target / stubbed = {medians['doctor --no-boards, default_target()'] / medians['doctor --no-boards, stubbed (reference)']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
