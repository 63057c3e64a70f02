#!/usr/bin/env python3
"""Benchmark `rknn-envcheck explain` on a 50 MB log against `python3 -c pass; grep -c RKNN FILE`.

The log is mostly ordinary application/kernel lines with a few hundred RKNN lines scattered in.
Both commands run alternately in the same process (same machine state); medians are printed with
the ratio (goal ≤ 3×) and the explain run's peak RSS (goal < 100 MiB, from wait4 rusage).
A second case is a verbose runtime log (RKNN_LOG_LEVEL=5: nearly every line an `I RKNN:` / `D RKNN:`
line, a few real messages), against `python3 -c pass; grep -c RKNN` on the same file; a third is an
endless pipe (`yes 'I RKNN: ...' | explain -`), which stops at the 64 MiB cap (time and peak RSS).
Usage: python3 scripts/bench_explain.py [--mb 50] [--runs 5] [--keep]
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

ORDINARY = [
    "2024-05-11 10:{m:02d}:{s:02d},{ms:03d} INFO  [worker-{w}] processed batch {n} in {ms} ms (queue depth {q})",
    "[{t:>12.6f}] usb 1-1.{w}: new high-speed USB device number {q} using xhci-hcd",
    "Epoch {w}/{q}: 100%|##########| {n}/{n} [00:{s:02d}<00:00, {ms}.{w}it/s] loss=0.{ms:03d} acc=0.{n:04d}",
    "{m:02d}:{s:02d}:{ms:03d} DEBUG http.client: GET /api/v1/items?page={n} -> 200 ({ms} bytes)",
    "WARNING:tensorflow:From /usr/lib/python3/dist-packages/model.py:{n}: calling Constant.__init__ (from tensorflow.python.ops) with dtype is deprecated",
    "    at com.example.app.Handler.handle(Handler.java:{n}) [thread main-{w}]",
]
RKNN = [
    "I RKNN: [10:{m:02d}:{s:02d}.{ms:03d}] RKNN Runtime Information, librknnrt version: 1.4.0 (a10f100eb@2022-09-09T09:07:14)",
    "I RKNN: [10:{m:02d}:{s:02d}.{ms:03d}] RKNN Driver Information, version: 0.8.2",
    "E RKNN: [10:{m:02d}:{s:02d}.{ms:03d}] Invalid RKNN model version 6",
    "E RKNNAPI: rknn_server version is too old, please update rknn_server to at least 2.3.0",
    "I rknn-toolkit2 version: 2.3.2",
    # rows of the message families (matrices/messages_*.toml)
    "ERROR: rknn_toolkit2-2.3.2-cp38-cp38-manylinux_2_17_x86_64.manylinux2014_x86_64.whl is not a supported wheel on this platform.",
    "E RKNN: [10:{m:02d}:{s:02d}.{ms:03d}] rknn_inputs_set, param input size(1228800) < model input size(4915200)",
    "Exception: RKNN init failed. error code: RKNN_ERR_MALLOC_FAIL",
]


def make_log(path: str, megabytes: int, rknn_lines: int = 400) -> None:
    rng = random.Random(7)
    target = megabytes * 1_000_000
    written = 0
    every = max(1, (target // 110) // rknn_lines)
    with open(path, "w", encoding="utf-8") as out:
        n = 0
        while written < target:
            n += 1
            pool = RKNN if n % every == 0 else ORDINARY
            line = rng.choice(pool).format(m=n % 60, s=(n // 60) % 60, ms=n % 1000, w=n % 8, n=n, q=n % 97, t=n / 1000.0) + "\n"
            out.write(line)
            written += len(line)


VERBOSE = [
    "I RKNN: [10:{m:02d}:{s:02d}.{ms:03d}] noise",
    "D RKNN: [10:{m:02d}:{s:02d}.{ms:03d}] allocated memory, name: task{n}, size: {q}KB",
    "D RKNN: [10:{m:02d}:{s:02d}.{ms:03d}] {w:>4} Conv              FLOAT16  NPU    (1,{q},80,80)",
    "D RKNNAPI: ==============================================",
]


def make_verbose_log(path: str, megabytes: int, rknn_lines: int = 40) -> None:
    rng = random.Random(11)
    target = megabytes * 1_000_000
    written, n = 0, 0
    every = max(1, (target // 60) // rknn_lines)
    with open(path, "w", encoding="utf-8") as out:
        while written < target:
            n += 1
            pool = RKNN[:3] if n % every == 0 else VERBOSE
            line = rng.choice(pool).format(m=n % 60, s=(n // 60) % 60, ms=n % 1000, w=n % 8, n=n, q=n % 97) + "\n"
            out.write(line)
            written += len(line)


def endless_pipe(explain_cmd: list[str], env: dict) -> tuple[float, int]:
    """`yes 'I RKNN: ...' | explain -`: seconds to the 64 MiB cap and explain's peak RSS (KiB)."""
    start = time.perf_counter()
    yes = subprocess.Popen(["yes", VERBOSE[0].format(m=0, s=0, ms=0)], stdout=subprocess.PIPE)
    proc = subprocess.Popen(explain_cmd, stdin=yes.stdout, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    yes.stdout.close()
    proc.stdout.read()
    _, _, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    yes.kill()
    yes.wait()
    return elapsed, usage.ru_maxrss


def timed(cmd: list[str], env: dict | None = None, devnull: bool = False) -> tuple[float, int]:
    # stdout goes to a pipe we drain, not to /dev/null: GNU grep notices a /dev/null stdout and
    # stops at its first match (like -q), so the reference would not scan the file at all.
    # (devnull=True shows that shortcut: it is measured and printed, not used for the goal.)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL if devnull else subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    if not devnull:
        while proc.stdout.read(1 << 16):
            pass
        proc.stdout.close()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_maxrss  # KiB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-explain-")
    path = os.path.join(tmp, "big.log")
    make_log(path, args.mb)
    size = os.path.getsize(path)
    # This workplace sets PYTHONDONTWRITEBYTECODE=1, which makes every run of an editable checkout
    # recompile every module; an installed tool has its bytecode. Give both commands (the
    # reference's python3 too) a bytecode cache, as a normal install has (as bench_core.py does).
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = os.path.join(tmp, "pycache")
    explain = [sys.executable, "-m", "rknn_envcheck", "explain", path]
    small = os.path.join(tmp, "small.log")
    with open(small, "w", encoding="utf-8") as out:
        out.write("".join(line.format(m=1, s=2, ms=3, w=4, n=5, q=6, t=7.0) + "\n" for line in RKNN[:4] + ORDINARY[:3]))
    explain_small = [sys.executable, "-m", "rknn_envcheck", "explain", small]
    reference = ["sh", "-c", f"python3 -c pass; grep -c RKNN {path}"]
    floor = [sys.executable, "-c", "pass"]
    for cmd in (explain, reference, explain_small, floor):  # warm the page cache, bytecode and matrix caches
        timed(cmd, env)
    ours, ref, ref_null, rss, start_up, bare = [], [], [], [], [], []
    for _ in range(args.runs):  # interleaved, so drift hits every command alike
        t, r = timed(explain, env)
        ours.append(t)
        rss.append(r)
        ref.append(timed(reference, env)[0])
        ref_null.append(timed(reference, env, devnull=True)[0])
        start_up.append(timed(explain_small, env)[0])
        bare.append(timed(floor, env)[0])
    med_ours, med_ref = statistics.median(ours), statistics.median(ref)
    print(f"log: {size / 1e6:.1f} MB, {args.runs} runs each")
    print(f"explain   median {med_ours * 1000:.0f} ms  (runs: {', '.join(f'{x * 1000:.0f}' for x in ours)})")
    print(f"reference median {med_ref * 1000:.0f} ms  (python3 -c pass; grep -c RKNN)")
    med_null = statistics.median(ref_null)
    print(f"  (same reference with stdout to /dev/null, where grep stops at its first match: {med_null * 1000:.0f} ms, "
          f"ratio against it {med_ours / med_null:.2f}x)")
    print(f"ratio {med_ours / med_ref:.2f}x (goal <= 3x)")
    print(f"explain of a 7-line log median {statistics.median(start_up) * 1000:.0f} ms (fixed start-up; python -c pass {statistics.median(bare) * 1000:.0f} ms)")
    print(f"explain peak RSS {max(rss) / 1024:.1f} MiB (goal < 100 MiB)")
    ok = med_ours / med_ref <= 3.0 and max(rss) / 1024 < 100
    # verbose runtime log: the same file for both commands, interleaved
    verbose = os.path.join(tmp, "verbose.log")
    make_verbose_log(verbose, args.mb)
    explain_verbose = [sys.executable, "-m", "rknn_envcheck", "explain", verbose]
    reference_verbose = ["sh", "-c", f"python3 -c pass; grep -c RKNN {verbose}"]
    timed(explain_verbose, env)
    v_ours, v_ref, v_rss = [], [], []
    for _ in range(args.runs):
        t, r = timed(explain_verbose, env)
        v_ours.append(t)
        v_rss.append(r)
        v_ref.append(timed(reference_verbose, env)[0])
    v_ratio = statistics.median(v_ours) / statistics.median(v_ref)
    print(f"verbose log ({os.path.getsize(verbose) / 1e6:.1f} MB of I/D RKNN lines): explain median {statistics.median(v_ours) * 1000:.0f} ms, "
          f"reference median {statistics.median(v_ref) * 1000:.0f} ms, ratio {v_ratio:.2f}x (goal <= 3x), peak RSS {max(v_rss) / 1024:.1f} MiB")
    pipe_time, pipe_rss = endless_pipe([sys.executable, "-m", "rknn_envcheck", "explain", "-"], env)
    print(f"endless pipe (yes | explain -, stops at 64 MiB): {pipe_time * 1000:.0f} ms, peak RSS {pipe_rss / 1024:.1f} MiB (goal < 100 MiB)")
    ok = ok and v_ratio <= 3.0 and max(v_rss) / 1024 < 100 and pipe_rss / 1024 < 100
    if args.keep:
        print(f"kept {path}")
    else:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
