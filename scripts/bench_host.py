#!/usr/bin/env python3
"""Benchmark `rknn-envcheck host --python ENV/bin/python` against `pip check` and `pipdeptree`.

Builds a venv (with pip, so `pip check` can run in it) holding >= 150 fabricated distributions:
real *.dist-info directories with METADATA (with Requires-Dist edges and a long description, like
real packages), RECORD, INSTALLER, top_level.txt and an importable package directory; plus
rknn-toolkit2 2.3.2 with the vendor's own METADATA and a healthy dependency closure (torch, onnx,
scipy… with their Requires-Dist lines), so the toolkit's Requires-Dist closure check runs too. Then runs
the three commands side by side, interleaved, N times each, and prints median wall time, peak RSS
and the ratios against the issue's goals (<= 0.5x pip check, <= 2x pipdeptree, <= 60 MiB).

    python scripts/bench_host.py [--dists 160] [--runs 9] [--keep DIR]
"""
from __future__ import annotations

import argparse
import json
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


# The installed toolkit's dependency closure, so the Requires-Dist check walks a real-sized graph:
# the vendor's rknn-toolkit2 2.3.2 METADATA (tests/data/metadata) and its dependencies with
# Requires-Dist lines as their wheels declare them (markers and extras included).
TOOLKIT_METADATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "metadata" / "rknn_toolkit2-2.3.2-cp311-cp311-manylinux_2_17_x86_64.METADATA"
CLOSURE = {
    "protobuf": ("4.25.4", []), "psutil": ("5.9.8", []), "ruamel.yaml": ("0.18.6", []), "tqdm": ("4.66.4", ['colorama; platform_system == "Windows"']),
    "scipy": ("1.13.1", ["numpy<2.3,>=1.22.4", 'pytest; extra == "test"']), "numpy": ("1.26.4", []), "fast-histogram": ("0.14", ["numpy"]),
    "opencv-python": ("4.10.0.84", ['numpy>=1.21.2; python_version >= "3.10"', 'numpy>=1.23.5; python_version >= "3.11"']),
    "onnx": ("1.16.1", ["numpy>=1.20", "protobuf>=3.20.2"]), "onnxruntime": ("1.18.0", ["coloredlogs", "flatbuffers", "numpy>=1.21.6", "packaging", "protobuf", "sympy"]),
    "coloredlogs": ("15.0.1", ["humanfriendly>=9.1"]), "humanfriendly": ("10.0", []), "flatbuffers": ("24.3.25", []), "packaging": ("24.1", []),
    "torch": ("2.4.0", ["filelock", "typing-extensions>=4.8.0", "sympy", "networkx", "jinja2", "fsspec", 'setuptools ; python_version >= "3.12"',
                        'triton==3.0.0 ; platform_system == "Linux" and platform_machine == "x86_64" and python_version < "3.13"',
                        'opt-einsum>=3.3 ; extra == "opt-einsum"']),
    "filelock": ("3.15.4", []), "typing-extensions": ("4.12.2", []), "sympy": ("1.13.1", ["mpmath<1.4,>=1.1.0"]), "mpmath": ("1.3.0", []),
    "networkx": ("3.3", []), "jinja2": ("3.1.4", ["MarkupSafe>=2.0"]), "markupsafe": ("2.1.5", []), "fsspec": ("2024.6.1", []),
    "triton": ("3.0.0", ["filelock"]),
}


def fabricate_toolkit(site: Path) -> list[str]:
    """rknn-toolkit2 2.3.2 (the vendor's METADATA) and a healthy closure of its dependencies."""
    dists = {"rknn-toolkit2": ("2.3.2", None)} | CLOSURE
    for name, (version, requires) in dists.items():
        module = name.replace("-", "_").replace(".", "_")
        dist = site / f"{module}-{version}.dist-info"
        dist.mkdir()
        metadata = TOOLKIT_METADATA.read_text() if requires is None else (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(f"Requires-Dist: {r}\n" for r in requires) + "\nfabricated\n")
        (dist / "METADATA").write_text(metadata)
        (dist / "RECORD").write_text(f"{dist.name}/METADATA,,\n{dist.name}/RECORD,,\n")
        (dist / "INSTALLER").write_text("pip\n")
    return list(dists)


def measure(command: list[str]) -> tuple[float, int, int]:
    """(wall seconds, peak RSS KiB of the largest process in the tree, exit code)."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # wait4's rusage covers the child and every descendant it waited for (the probe interpreter).
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss, proc.returncode


def _script(name: str) -> str | None:
    """The console script installed beside this interpreter, else the one on PATH: a pyenv shim
    on PATH is a bash script that costs tens of ms per start, which would blur every ratio."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dists", type=int, default=160, help="fabricated distributions (default 160, at least 150)")
    parser.add_argument("--runs", type=int, default=9, help="runs per command (default 9)")
    parser.add_argument("--keep", metavar="DIR", help="build the venv in DIR and keep it")
    parser.add_argument("--baseline", metavar="EXE", help="another rknn-envcheck executable (e.g. of the previous commit) measured in the same run")
    args = parser.parse_args(argv)
    if args.dists < 150:
        parser.error("--dists must be at least 150 (the issue's benchmark size)")

    envcheck = _script("rknn-envcheck") or sys.exit("rknn-envcheck is not on PATH (pip install -e .)")
    pipdeptree = _script("pipdeptree") or sys.exit("pipdeptree is not on PATH (pip install pipdeptree)")
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-host-"))
    env = work / "env"
    try:
        t0 = time.perf_counter()
        if not env.exists():
            subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
            fabricate(site_packages(env), args.dists)
            fabricate_toolkit(site_packages(env))
        python = str(env / "bin" / "python")
        total = len(list(site_packages(env).glob("*.dist-info")))
        print(f"venv {env}: {total} distributions (built in {time.perf_counter() - t0:.1f} s); {args.runs} runs each, interleaved\n")

        probe_run = subprocess.run([envcheck, "host", "--python", python, "--json"], capture_output=True, text=True)
        try:
            closure = [c for c in json.loads(probe_run.stdout)["checks"] if c["id"] == "host.requirements"]
        except (ValueError, KeyError):
            closure = []
        print("closure check:", "; ".join(f"{c['status']}: {c['observed']}" for c in closure) or "NOT RUN (measuring without it)", "\n")

        commands = {
            "rknn-envcheck host --python ENV": [envcheck, "host", "--python", python],
            "rknn-envcheck host --python ENV --json": [envcheck, "host", "--python", python, "--json"],
            "ENV/bin/python -m pip check": [python, "-m", "pip", "check"],
            "pipdeptree --python ENV": [pipdeptree, "--python", python],
        }
        if args.baseline:
            commands["baseline host --python ENV"] = [args.baseline, "host", "--python", python]
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
        if args.baseline:
            print(f"baseline / pip check      : {medians['baseline host --python ENV'] / medians['ENV/bin/python -m pip check']:.2f}x;"
                  f" baseline / pipdeptree: {medians['baseline host --python ENV'] / medians['pipdeptree --python ENV']:.2f}x;"
                  f" this / baseline: {ours / medians['baseline host --python ENV']:.2f}x")
        return 0 if ratio_pip <= 0.5 and ratio_tree <= 2.0 and peak <= 60 else 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
