#!/usr/bin/env python3
"""Benchmark of the first run (issue 17 §5): the doctor on a machine where no adb server runs and
no Rockchip board is on USB, against `python -m pip --version`, in the same run.

    goal: doctor (cold, no server, no board) <= 1x `python -m pip --version`
    and:  it leaves no process behind (no adb server listening on its port afterwards)

A private ANDROID_ADB_SERVER_PORT is used so the user's server on 5037 is never seen or touched;
if this machine shows a Rockchip board in ADB mode the doctor rightly starts adb, and the script
says so instead of measuring.

Usage: python scripts/bench_cold_doctor.py [--runs N]
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rknn_envcheck.emulator.adbserver import free_port
from rknn_envcheck.probes.usb import rockchip_adb_visible, scan_usb


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.3):
            return True
    except OSError:
        return False


def timed(cmd, env) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    if b"Traceback" in proc.stderr:
        raise SystemExit(proc.stderr.decode())
    return elapsed, proc.stdout.decode("utf-8", "replace")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    visible, why = rockchip_adb_visible(scan_usb())
    if visible is not False:
        raise SystemExit(f"not a cold machine for this benchmark: {why}")
    port = free_port()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, ANDROID_ADB_SERVER_PORT=str(port), HOME=tmp)
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as an installed tool: with bytecode (see bench_core.py)
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        cases = {
            "python -m pip --version": [py, "-m", "pip", "--version"],
            "rknn-envcheck (doctor, cold)": [py, "-m", "rknn_envcheck", "--json"],
        }
        for cmd in cases.values():
            timed(cmd, env)  # warm-up: bytecode compiled, files in the page cache
        samples: dict[str, list[float]] = {name: [] for name in cases}
        leftovers = 0
        reasons = set()
        for _ in range(args.runs):
            for name, cmd in cases.items():
                elapsed, out = timed(cmd, env)
                samples[name].append(elapsed)
                if "doctor" in name:
                    leftovers += listening(port)
                    reasons.add(json.loads(out)["facts"].get("adb", {}).get("reason", "?"))
    med = {name: statistics.median(v) for name, v in samples.items()}
    print(f"{'command':32} {'median ms':>10}   (runs: {args.runs}, adb port {port})")
    for name, value in med.items():
        print(f"{name:32} {value * 1000:10.1f}")
    ratio = med["rknn-envcheck (doctor, cold)"] / med["python -m pip --version"]
    print(f"doctor / pip --version: {ratio:.2f}x (goal <= 1.0x)")
    print(f"adb server left listening after a doctor run: {leftovers} of {args.runs} (goal 0)")
    for reason in sorted(reasons):
        print(f"  adb: {reason}")
    return 0 if ratio <= 1.0 and leftovers == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
