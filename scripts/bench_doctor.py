#!/usr/bin/env python3
"""Benchmark of board inspection (issue 6, Speed), all in one run against a private adb server:

  (a) the doctor with 1 emulated board vs with 32 emulated boards   goal: 32 <= 2x of 1
  (b) the doctor with 1 emulated board vs `rknn-envcheck host`       goal: <= 1.5x

It also reads the emulator's counters to show that each healthy board cost exactly one shell
round trip per doctor run. Never touches the user's adb server (own port, own HOME).

Usage: python scripts/bench_doctor.py [--runs N]
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

from rknn_envcheck.emulator.adbserver import PrivateAdbServer, find_adb
from rknn_envcheck.emulator.profile import load_profile
from rknn_envcheck.emulator.server import EmulatorHost


def timed(cmd, env) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    if b"Traceback" in proc.stderr:
        raise SystemExit(proc.stderr.decode())
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    adb = find_adb()
    if not adb:
        raise SystemExit("no adb binary")
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp, PrivateAdbServer(adb) as one_server, PrivateAdbServer(adb) as many_server, EmulatorHost() as host:
        env = dict(os.environ)
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as an installed tool: with bytecode (see bench_core.py)
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        profile = load_profile("rk3588-2.3.2")
        single = host.serve(profile)
        one_server.connect(single.address)
        many = [host.serve(profile) for _ in range(32)]
        for board in many:
            many_server.connect(board.address)
        env_one = dict(env, ANDROID_ADB_SERVER_PORT=str(one_server.port))
        env_many = dict(env, ANDROID_ADB_SERVER_PORT=str(many_server.port))
        doctor = [py, "-m", "rknn_envcheck", "--toolkit", "rknn-toolkit2==2.3.2"]
        cases = {
            "rknn-envcheck host": ([py, "-m", "rknn_envcheck", "host"], env_one),
            "doctor, 1 board": (doctor, env_one),
            "doctor, 32 boards": (doctor, env_many),
        }
        for cmd, e in cases.values():
            timed(cmd, e)  # warm-up
        before_one, before_many = single.stats.round_trips, sum(b.stats.round_trips for b in many)
        samples = {name: [] for name in cases}
        for _ in range(args.runs):
            for name, (cmd, e) in cases.items():
                samples[name].append(timed(cmd, e))
        trips_one = (single.stats.round_trips - before_one) / args.runs
        trips_many = (sum(b.stats.round_trips for b in many) - before_many) / args.runs / 32
        for board in [single]:
            one_server.disconnect(board.address)
        for board in many:
            many_server.disconnect(board.address)
    med = {name: statistics.median(v) for name, v in samples.items()}
    print(f"{'command':28} {'median ms':>10}")
    for name, value in med.items():
        print(f"{name:28} {value * 1000:10.1f}")
    r32 = med["doctor, 32 boards"] / med["doctor, 1 board"]
    rhost = med["doctor, 1 board"] / med["rknn-envcheck host"]
    print(f"\nshell round trips per board per doctor run: 1 board {trips_one:.2f}, 32 boards {trips_many:.2f} (goal 1)")
    print(f"32 boards / 1 board   = {r32:.2f}x (goal <= 2.0x) -> {'PASS' if r32 <= 2 else 'MISS'}")
    print(f"1-board doctor / host = {rhost:.2f}x (goal <= 1.5x) -> {'PASS' if rhost <= 1.5 else 'MISS'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
