#!/usr/bin/env python3
"""Benchmark of the compatibility core (issue 3, Speed): `check --facts` on a facts file with 200
distributions and 8 boards, and `constraints`, each side by side with `python -m pip --version`
in the same run (these machines are noisy: ratios, not absolute times). Goal: each <= 0.5x.

Usage: python scripts/bench_core.py [--runs N]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def facts_file(directory: Path) -> Path:
    packages = {f"fabricated-package-{i:03d}": f"1.{i % 7}.{i % 11}" for i in range(190)}
    packages.update({"rknn-toolkit2": "2.3.2", "numpy": "1.26.4", "onnx": "1.16.1", "protobuf": "4.25.4", "torch": "2.4.0",
                     "onnxruntime": "1.17.3", "scipy": "1.11.4", "psutil": "5.9.8", "tqdm": "4.66.4", "opencv-python": "4.9.0.80"})
    devices = []
    for i in range(8):
        devices.append({"serial": f"board{i}", "state": "device", "transport": "adb", "chip": ["RK3588", "RK3566", "RK3576", "RK3562"][i % 4],
                        "arch": "aarch64", "os": "linux", "rknn_server": "2.3.2" if i % 2 else "1.5.2", "librknn_runtime": "2.3.2",
                        "runtime_library": "librknnrt.so", "npu_driver": "0.9.6", "npu_driver_kind": "rknpu"})
    data = {"schema": "rknn-envcheck/facts/1",
            "host": {"os": "linux", "arch": "x86_64", "python": {"version": "3.10.12", "executable": "/venv/bin/python", "bits": 64},
                     "packages": packages, "duplicates": [], "processes": [], "usb": [], "gcc": True, "env": {}},
            "devices": devices}
    path = directory / "facts-200-8.json"
    path.write_text(json.dumps(data))
    return path


def timed(cmd: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        # This workplace sets PYTHONDONTWRITEBYTECODE=1, which makes every run of an editable
        # checkout recompile every module; an installed tool has its bytecode. Give all commands
        # (the reference too) a bytecode cache, as a normal install has.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        facts = facts_file(Path(tmp))
        py = sys.executable
        commands = {
            "reference: python -m pip --version": [py, "-m", "pip", "--version"],
            "floor: python -c pass": [py, "-c", "pass"],
            "check --facts (200 dists, 8 boards)": [py, "-m", "rknn_envcheck", "check", "--facts", str(facts)],
            "constraints --toolkit rknn-toolkit2==2.3.2": [py, "-m", "rknn_envcheck", "constraints", "--toolkit", "rknn-toolkit2==2.3.2",
                                                           "--python", "3.10", "--platform", "linux_x86_64"],
        }
        for cmd in commands.values():  # warm caches (bytecode, matrix cache) once
            timed(cmd, env)
        samples = {name: [] for name in commands}
        for _ in range(args.runs):  # interleaved, so drift hits every command alike
            for name, cmd in commands.items():
                samples[name].append(timed(cmd, env))
    ref = statistics.median(samples["reference: python -m pip --version"])
    print(f"{'command':48} {'median ms':>10} {'x pip --version':>16}")
    for name, values in samples.items():
        med = statistics.median(values)
        print(f"{name:48} {med * 1000:10.1f} {med / ref:16.2f}")
    worst = max(statistics.median(samples[n]) / ref for n in list(commands)[2:])
    print(f"\ngoal: each rknn-envcheck command <= 0.50x; worst here {worst:.2f}x -> {'PASS' if worst <= 0.5 else 'MISS'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
