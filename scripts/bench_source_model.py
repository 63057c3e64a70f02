#!/usr/bin/env python3
"""Benchmark: `rknn-envcheck model BIG.onnx --toolkit rknn-toolkit2==2.3.2` vs `rknn-envcheck --version`.

Goal (issue 16): on a 1 GB ONNX file with >= 10,000 nodes and >= 1,000 initializers, peak memory
<= 100 MiB and wall time <= 2x `--version`, measured alternately in the same run (medians). The
file is written from the ONNX wire format by hand: real node/initializer framing, and each
initializer's raw_data a 1 MiB hole (sparse; `--dense` writes real bytes instead), so the reader's
seeking — not the page cache — is what is measured.

    python scripts/bench_source_model.py [--runs 9] [--nodes 12000] [--initializers 1000] [--dense]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

RAW_BYTES = 1024 * 1024


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        out.append((value & 0x7F) | (0x80 if value > 0x7F else 0))
        value >>= 7
        if not value:
            return bytes(out)


def _ld(field: int, payload: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def write_model(path: str, nodes: int, initializers: int, dense: bool) -> int:
    node_bytes = [_ld(1, _ld(1, f"t{i}".encode()) + _ld(1, f"w{i % initializers}".encode()) + _ld(2, f"t{i + 1}".encode())
                      + _ld(4, b"Conv" if i % 2 else b"Relu")) for i in range(nodes)]
    heads = []
    for i in range(initializers):
        tensor_head = _varint(1 << 3) + _varint(RAW_BYTES // 4) + _varint(2 << 3) + _varint(1) + _ld(8, f"w{i}".encode())
        tensor_head += _varint(9 << 3 | 2) + _varint(RAW_BYTES)
        heads.append(_varint(5 << 3 | 2) + _varint(len(tensor_head) + RAW_BYTES) + tensor_head)
    dims = b"".join(_ld(1, _varint(1 << 3) + _varint(d)) for d in (1, 3, 224, 224))
    shape = _ld(2, _ld(1, _varint(1 << 3) + _varint(1) + _ld(2, dims)))  # TypeProto.tensor_type{elem_type, shape{dim…}}
    graph_input = _ld(11, _ld(1, b"t0") + shape)
    graph_len = sum(map(len, node_bytes)) + sum(len(h) + RAW_BYTES for h in heads) + len(graph_input)
    with open(path, "wb") as fh:
        fh.write(_varint(1 << 3) + _varint(8) + _ld(2, b"bench") + _ld(8, _varint(2 << 3) + _varint(17)))
        fh.write(_varint(7 << 3 | 2) + _varint(graph_len))
        fh.write(b"".join(node_bytes))
        fh.write(graph_input)
        zeros = b"\0" * RAW_BYTES
        for head in heads:
            fh.write(head)
            if dense:
                fh.write(zeros)
            else:
                fh.seek(RAW_BYTES, os.SEEK_CUR)
        fh.truncate()
    return os.path.getsize(path)


def run_once(cmd: list, env: dict, expect: bytes = b"rknn-envcheck") -> tuple[float, int]:
    """(wall seconds, peak RSS in KiB) of one fresh process, whose output must hold `expect`
    (a run that failed to start — e.g. exit 1 from a ModuleNotFoundError — is not a measurement)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1, 3) or expect not in out:
        raise SystemExit(f"{' '.join(cmd)} exited {code} without {expect!r}: {proc.stderr.read().decode()[-400:]}")
    proc.stdout.close()
    proc.stderr.close()
    return elapsed, usage.ru_maxrss


def against_version(version: list, judge: list, env: dict, expect: bytes, runs: int) -> tuple[float, float, float]:
    """(median seconds of `--version`, of the judge command, the judge's peak RSS in MiB): one warm-up
    run each (.pyc files, the page cache), then the two alternately so drift hits both alike."""
    run_once(version, env), run_once(judge, env, expect)
    version_runs, judge_runs = [], []
    for _ in range(runs):
        version_runs.append(run_once(version, env))
        judge_runs.append(run_once(judge, env, expect))
    return (statistics.median(t for t, _ in version_runs), statistics.median(t for t, _ in judge_runs),
            max(rss for _, rss in judge_runs) / 1024)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--nodes", type=int, default=12000)
    parser.add_argument("--initializers", type=int, default=1000)
    parser.add_argument("--dense", action="store_true", help="write the 1 GB of weights as real bytes (not a sparse file)")
    args = parser.parse_args()
    env = dict(os.environ)
    # this checkout, through this interpreter, for both commands: a console-script shim (pyenv's is
    # a bash script, ~60 ms) would add the same constant to both sides, and an installed copy may
    # be another tree than the one measured
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    base = [sys.executable, "-m", "rknn_envcheck"]
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = os.path.join(tmp, "pycache")
        model = os.path.join(tmp, "big.onnx")
        size = write_model(model, args.nodes, args.initializers, args.dense)
        judge = [*base, "model", model, "--toolkit", "rknn-toolkit2==2.3.2", "--json"]
        version = [*base, "--version"]
        v_time, j_time, peak_mib = against_version(version, judge, env, b'"command": "model"', args.runs)
        ratio = j_time / v_time
        print(f"file: {size / 1024 ** 3:.2f} GiB ONNX, {args.nodes} nodes, {args.initializers} initializers ({'dense' if args.dense else 'sparse'})")
        print(f"--version median {v_time * 1000:.0f} ms; model median {j_time * 1000:.0f} ms; ratio {ratio:.2f} (goal <= 2.0)")
        print(f"model peak RSS {peak_mib:.1f} MiB (goal <= 100); load average {os.getloadavg()[0]:.2f}")
        return 0 if ratio <= 2.0 and peak_mib <= 100 else 1


if __name__ == "__main__":
    raise SystemExit(main())
