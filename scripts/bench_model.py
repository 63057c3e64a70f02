#!/usr/bin/env python3
"""Benchmark: `rknn-envcheck model BIG.rknn` (100 MB synthetic model) vs `rknn-envcheck --version`.

Goal (issue 8): the preflight takes at most 2x the time of `--version` measured in the same run,
i.e. reading the header costs about nothing next to interpreter start-up, because the data
section is seeked over, never read. Both commands run as fresh processes, alternately, so
both see the same machine load; medians are compared.

    python scripts/bench_model.py [--runs 15] [--size-mb 100] [--board-facts]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time


def write_model(path: str, size_mb: int) -> None:
    """A toolkit2 format-6 model with a `size_mb` MB data section, written sparse-free (real bytes)."""
    meta = json.dumps({"version": "2.3.2", "target_platform": ["rk3588"], "name": "rknn model", "network_platform": "ONNX",
                       "ori_network_platform": "ONNX", "const_tensor": [], "virtual_tensor": [], "graph": [], "node_num": 1,
                       "nodes": [{"op": "Conv"}]}).encode()
    data_size = size_mb * 1024 * 1024
    chunk = (struct.pack("<I", 28) + b"RKNN").ljust(1024 * 1024, b"\x11")
    with open(path, "wb") as fh:
        fh.write(b"RKNN\0\0\0\0" + struct.pack("<QQ", 6, data_size) + b"\0" * 40)
        for _ in range(size_mb):
            fh.write(chunk)
        fh.write(struct.pack("<Q", len(meta)) + meta)


def time_once(cmd: list[str], env: dict) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1, 3):
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.decode()[-400:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--board-facts", action="store_true", help="also judge against a board from a facts file")
    parser.add_argument("--no-bytecode", action="store_true",
                        help="keep PYTHONDONTWRITEBYTECODE as inherited (every module compiled from source on every run)")
    args = parser.parse_args()
    env = dict(os.environ)

    exe = shutil.which("rknn-envcheck")
    base = [exe] if exe else [sys.executable, "-m", "rknn_envcheck"]
    with tempfile.TemporaryDirectory() as tmp:
        if not args.no_bytecode:
            # An installed package has .pyc files; let both commands use a bytecode cache kept
            # outside the source tree, as a normal install would.
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = os.path.join(tmp, "pycache")
        model = os.path.join(tmp, "big.rknn")
        write_model(model, args.size_mb)
        preflight = [*base, "model", model]
        if args.board_facts:
            facts = os.path.join(tmp, "facts.json")
            with open(facts, "w") as fh:
                json.dump({"schema": "rknn-envcheck/facts/1", "host": {}, "devices": [
                    {"serial": "B1", "state": "device", "chip": "RK3588", "librknn_runtime": "2.3.2", "rknn_server": "2.3.2"}]}, fh)
            preflight += ["--facts", facts]
        version = [*base, "--version"]
        time_once(version, env), time_once(preflight, env)  # warm the page cache and .pyc files
        version_times, preflight_times = [], []
        for _ in range(args.runs):
            version_times.append(time_once(version, env))
            preflight_times.append(time_once(preflight, env))
        size = os.path.getsize(model)
    v, p = statistics.median(version_times), statistics.median(preflight_times)
    print(f"model size              : {size / 1e6:.1f} MB ({size} bytes)")
    print(f"runs                    : {args.runs} each, alternating; bytecode cache: {'off (PYTHONDONTWRITEBYTECODE inherited)' if args.no_bytecode else 'on (PYTHONPYCACHEPREFIX in a temp dir)'}")
    print(f"rknn-envcheck --version : median {v * 1000:.1f} ms (min {min(version_times) * 1000:.1f}, max {max(version_times) * 1000:.1f})")
    print(f"rknn-envcheck model     : median {p * 1000:.1f} ms (min {min(preflight_times) * 1000:.1f}, max {max(preflight_times) * 1000:.1f})")
    ratio = p / v
    print(f"ratio                   : {ratio:.2f}x (goal <= 2.00x) -> {'PASS' if ratio <= 2.0 else 'FAIL'}")
    return 0 if ratio <= 2.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
