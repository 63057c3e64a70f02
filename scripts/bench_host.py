#!/usr/bin/env python3
"""Benchmark `rknn-envcheck host --python ENV/bin/python` against `pip check` and `pipdeptree`.

Builds a venv (with pip, so `pip check` can run in it) holding >= 150 fabricated distributions:
real *.dist-info directories with METADATA (with Requires-Dist edges and a long description, like
real packages), RECORD, INSTALLER, top_level.txt and an importable package directory. Then runs
the three commands side by side, interleaved, N times each, and prints median wall time, peak RSS
and the ratios against the issue's goals (<= 0.5x pip check, <= 2x pipdeptree, <= 60 MiB).

    python scripts/bench_host.py [--dists 160] [--runs 9] [--keep DIR]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DESCRIPTION = ("This is a fabricated distribution for the rknn-envcheck benchmark. " * 40 + "\n") * 25  # ~70 KB, like numpy's


def site_packages(env: Path) -> Path:
    out = subprocess.run([str(env / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         check=True, capture_output=True, text=True)
    return Path(out.stdout.strip())


def fabricate(site: Path, count: int) -> list[str]:
    """`count` distributions bench-pkg-000…: each requires the two before it (a real dependency graph)."""
    names = []
    for index in range(count):
        name = f"bench-pkg-{index:03d}"
        module = name.replace("-", "_")
        version = f"{1 + index % 5}.{index % 13}.{index % 7}"
        dist = site / f"{module}-{version}.dist-info"
        dist.mkdir()
        requires = "".join(f"Requires-Dist: bench-pkg-{dep:03d}>=1.0\n" for dep in (index - 1, index - 2) if dep >= 0)
        (dist / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: fabricated\nRequires-Python: >=3.6\n"
            f"{requires}\n{DESCRIPTION if index % 10 == 0 else 'short description'}\n")
        (site / module).mkdir()
        (site / module / "__init__.py").write_text(f"__version__ = {version!r}\n")
        (dist / "top_level.txt").write_text(module + "\n")
        (dist / "INSTALLER").write_text("pip\n")
        (dist / "WHEEL").write_text("Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        (dist / "RECORD").write_text(f"{module}/__init__.py,,\n{dist.name}/METADATA,,\n{dist.name}/RECORD,,\n")
        names.append(name)
    return names


def measure(command: list[str]) -> tuple[float, int, int]:
    """(wall seconds, peak RSS KiB of the largest process in the tree, exit code)."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # wait4's rusage covers the child and every descendant it waited for (the probe interpreter).
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss, proc.returncode


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dists", type=int, default=160, help="fabricated distributions (default 160, at least 150)")
    parser.add_argument("--runs", type=int, default=9, help="runs per command (default 9)")
    parser.add_argument("--keep", metavar="DIR", help="build the venv in DIR and keep it")
    args = parser.parse_args(argv)
    if args.dists < 150:
        parser.error("--dists must be at least 150 (the issue's benchmark size)")

    envcheck = shutil.which("rknn-envcheck") or sys.exit("rknn-envcheck is not on PATH (pip install -e .)")
    pipdeptree = shutil.which("pipdeptree") or sys.exit("pipdeptree is not on PATH (pip install pipdeptree)")
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-host-"))
    env = work / "env"
    try:
        t0 = time.perf_counter()
        if not env.exists():
            subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
            fabricate(site_packages(env), args.dists)
        python = str(env / "bin" / "python")
        total = len(list(site_packages(env).glob("*.dist-info")))
        print(f"venv {env}: {total} distributions (built in {time.perf_counter() - t0:.1f} s); {args.runs} runs each, interleaved\n")

        commands = {
            "rknn-envcheck host --python ENV": [envcheck, "host", "--python", python],
            "rknn-envcheck host --python ENV --json": [envcheck, "host", "--python", python, "--json"],
            "ENV/bin/python -m pip check": [python, "-m", "pip", "check"],
            "pipdeptree --python ENV": [pipdeptree, "--python", python],
        }
        samples: dict[str, list[tuple[float, int, int]]] = {name: [] for name in commands}
        for name, command in commands.items():  # warm the page cache and .pyc files once
            measure(command)
        for _ in range(args.runs):
            for name, command in commands.items():
                samples[name].append(measure(command))

        medians = {name: statistics.median(s[0] for s in runs) for name, runs in samples.items()}
        peaks = {name: max(s[1] for s in runs) / 1024 for name, runs in samples.items()}
        codes = {name: sorted({s[2] for s in runs}) for name, runs in samples.items()}
        width = max(len(n) for n in commands)
        print(f"{'command':<{width}}  {'median ms':>9}  {'min ms':>7}  {'peak RSS MiB':>12}  exit")
        for name, runs in samples.items():
            print(f"{name:<{width}}  {medians[name] * 1000:9.0f}  {min(s[0] for s in runs) * 1000:7.0f}  {peaks[name]:12.1f}  {codes[name]}")
        ours = medians["rknn-envcheck host --python ENV"]
        ratio_pip = ours / medians["ENV/bin/python -m pip check"]
        ratio_tree = ours / medians["pipdeptree --python ENV"]
        peak = peaks["rknn-envcheck host --python ENV"]
        print()
        print(f"rknn-envcheck / pip check : {ratio_pip:.2f}x  (goal <= 0.50x) {'ok' if ratio_pip <= 0.5 else 'MISSED'}")
        print(f"rknn-envcheck / pipdeptree: {ratio_tree:.2f}x  (goal <= 2.00x) {'ok' if ratio_tree <= 2.0 else 'MISSED'}")
        print(f"rknn-envcheck peak RSS    : {peak:.1f} MiB (goal <= 60 MiB) {'ok' if peak <= 60 else 'MISSED'}")
        return 0 if ratio_pip <= 0.5 and ratio_tree <= 2.0 and peak <= 60 else 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
