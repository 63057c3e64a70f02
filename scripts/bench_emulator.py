#!/usr/bin/env python3
"""Benchmark: shell round trips through the REAL adb server to emulated boards (issue 5, Speed).

Measures in one run the median of N round trips (a) as a bare smart-socket exchange
(`host:transport:SERIAL`, then `shell:true`, read to EOF; and `shell:` + the doctor's real probe
batch, which runs in a shell worker process) and (b) through adbutils
(`device(serial).shell("true")`, and by transport_id), once with 1 board served and once with
32 boards served by the same emulator process and all 32 queried at once (one round trip each).
Goal: 32 concurrent bare round trips finish within 8x the time of one.

The emulator runs as `rknn-envcheck emulator serve ... --stats FILE` in its own process, so the
benchmark client does not share its interpreter; the stats file proves one round trip per query.

    python scripts/bench_emulator.py [--rounds 50] [--boards 32]
    python scripts/bench_emulator.py --paths [--rounds 300]   # event loop vs shell worker, no adb

`--paths` compares, for a few command lines, answering on the emulator's event loop with running
in a shell worker process (issue 14): median wall time and CPU of the server plus its workers.
"""
from __future__ import annotations

import argparse
import json
import os
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rknn_envcheck.emulator.adbserver import PrivateAdbServer  # noqa: E402
from rknn_envcheck.probes.board import build_batch, render_batch  # noqa: E402

PROFILE = "rk3588-2.3.2"
# `true` is a pure lookup answered on the emulator's event loop; the probe's real batch (3 KB of
# greps over the board) runs in a shell worker process (issue 14): both paths are measured.
BATCH = render_batch(build_batch())


def _send(sock: socket.socket, request: str) -> None:
    data = request.encode()
    sock.sendall(b"%04x" % len(data) + data)
    status = _recv_exact(sock, 4)
    if status != b"OKAY":
        length = int(_recv_exact(sock, 4), 16)
        raise RuntimeError(f"{request}: {status!r} {_recv_exact(sock, length)!r}")


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError(f"expected {n} bytes, got {len(buf)}")
        buf += chunk
    return buf


def bare_round_trip(port: int, serial: str, command: str = "true") -> float:
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        _send(sock, f"host:transport:{serial}")
        _send(sock, f"shell:{command}")
        while sock.recv(65536):
            pass
    return time.perf_counter() - started


def bare_concurrent(port: int, serials: list, command: str = "true") -> float:
    """All queries at once from ONE thread (non-blocking sockets, a small state machine each), so
    the client does not become the bottleneck the way 32 Python threads would (GIL)."""
    sel = selectors.DefaultSelector()
    started = time.perf_counter()
    for serial in serials:
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", port))
        requests = [b"%04x%s" % (len(r), r) for r in (f"host:transport:{serial}".encode(), f"shell:{command}".encode())]
        sel.register(sock, selectors.EVENT_WRITE, {"requests": requests, "stage": "send", "buf": b""})
    pending = len(serials)
    while pending:
        for key, _ in sel.select():
            sock, st = key.fileobj, key.data
            if st["stage"] == "send":
                sock.send(st["requests"].pop(0))
                st["stage"] = "status"
                sel.modify(sock, selectors.EVENT_READ, st)
                continue
            data = sock.recv(65536)
            if st["stage"] == "status":
                st["buf"] += data
                if len(st["buf"]) >= 4:
                    if st["buf"][:4] != b"OKAY":
                        raise RuntimeError(f"adb server answered {st['buf']!r}")
                    st["buf"] = st["buf"][4:]
                    st["stage"] = "send" if st["requests"] else "drain"
                    if st["requests"]:
                        sel.modify(sock, selectors.EVENT_WRITE, st)
            elif not data:
                sel.unregister(sock)
                sock.close()
                pending -= 1
    sel.close()
    return time.perf_counter() - started


def serve(profiles: list, stats_file: str) -> tuple:
    proc = subprocess.Popen([sys.executable, "-m", "rknn_envcheck", "emulator", "serve", *profiles, "--stats", stats_file],
                            stdout=subprocess.PIPE, text=True)
    addresses = []
    while len(addresses) < len(profiles):
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"emulator exited with {proc.wait()}")
        if " listening on " in line:
            addresses.append(line.split(" listening on ")[1].split()[0])
    return proc, addresses


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.communicate(timeout=10)


def total_round_trips(stats_file: str) -> int:
    time.sleep(0.3)  # the stats file is rewritten every 0.1 s
    with open(stats_file) as fh:
        return sum(b["stats"]["round_trips"] for b in json.load(fh)["boards"])


def _cpu(procs: dict) -> dict:
    return {name: sum(p.cpu_times()[:2]) for name, p in procs.items()}


def concurrent_rounds(rounds: int, work, targets: list) -> list:
    """Each round: one thread per target, released together; the round lasts until the last one ends."""
    times = []
    for _ in range(rounds):
        barrier = threading.Barrier(len(targets) + 1)
        ends = [0.0] * len(targets)

        def run(i, target):
            barrier.wait()
            work(target)
            ends[i] = time.perf_counter()

        threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(targets)]
        for t in threads:
            t.start()
        barrier.wait()
        started = time.perf_counter()
        for t in threads:
            t.join()
        times.append(max(ends) - started)
    return times


def paths_benchmark(rounds: int) -> int:
    """Event loop vs worker for the same command lines, interleaved in blocks (CPU ticks are 10 ms)."""
    import asyncio

    import psutil

    from rknn_envcheck.emulator.board import BoardState
    from rknn_envcheck.emulator.limits import Limits
    from rknn_envcheck.emulator.profile import load_profile
    from rknn_envcheck.emulator.workers import ShellRunner

    lines = {"true": "true", "uname -m; cat /proc/version": "uname -m; cat /proc/version", "the probe's batch (3 KB)": BATCH}

    async def run() -> None:
        runner, state = ShellRunner(Limits(workers=2)), BoardState(load_profile(PROFILE))
        runner.pool.start()
        await runner.pool.run(state, "true", "bench")
        me = psutil.Process()

        def cpu() -> float:
            procs = [me] + [psutil.Process(w.process.pid) for w in runner.pool.all]
            return sum(sum(p.cpu_times()[:2]) for p in procs)

        print(f"{'command line':<28} {'loop ms':>8} {'worker ms':>9} {'loop CPU ms':>11} {'worker CPU ms':>13}  "
              f"(2 workers; load average {psutil.getloadavg()[0]:.1f})")
        for label, line in lines.items():
            n = rounds if line is not BATCH else max(20, rounds // 5)
            times, used = {"loop": [], "worker": []}, {"loop": 0.0, "worker": 0.0}
            for _ in range(3):
                for path in ("loop", "worker"):
                    before = cpu()
                    for _ in range(n):
                        started = time.perf_counter()
                        if path == "loop":
                            state.run(line, 1 << 23)
                        else:
                            await runner.pool.run(state, line, "bench")
                        times[path].append(time.perf_counter() - started)
                    used[path] += cpu() - before
            print(f"{label:<28} {statistics.median(times['loop']) * 1e3:>8.3f} {statistics.median(times['worker']) * 1e3:>9.3f}"
                  f" {used['loop'] / (3 * n) * 1e3:>11.3f} {used['worker'] / (3 * n) * 1e3:>13.3f}")
        await runner.close()

    asyncio.run(run())
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--boards", type=int, default=32)
    parser.add_argument("--paths", action="store_true", help="event loop vs shell worker only (no adb server)")
    args = parser.parse_args()
    if args.paths:
        return paths_benchmark(args.rounds)
    import adbutils
    import psutil

    results = {}
    stats_dir = tempfile.mkdtemp(prefix="rknn-bench-")
    with PrivateAdbServer() as adb:
        os.environ["ANDROID_ADB_SERVER_PORT"] = str(adb.port)  # an adbutils autostart can only hit the private server
        client = adbutils.AdbClient(host="127.0.0.1", port=adb.port)
        print(f"adb: {adb.adb} ({client.server_version()}), private server 127.0.0.1:{adb.port}; "
              f"{args.rounds} rounds; emulator: separate process")
        for count in (1, args.boards):
            stats_file = os.path.join(stats_dir, f"stats-{count}.json")
            proc, addresses = serve([PROFILE] * count, stats_file)
            procs = {"emulator": psutil.Process(proc.pid), "adb server": psutil.Process(adb.process.pid), "client": psutil.Process()}
            try:
                for address in addresses:
                    reply = client.connect(address, timeout=5)
                    assert reply.startswith("connected"), reply
                first = addresses[0]
                tid = next(d.tags["transport_id"] for d in client.list(extended=True) if d.serial == first)
                dev, dev_tid = client.device(first), client.device(transport_id=int(tid))
                for _ in range(5):  # warm-up
                    bare_round_trip(adb.port, first)
                    dev.shell("true", timeout=10)
                sent = 5 * 2
                results[(count, "bare, one board")] = [bare_round_trip(adb.port, first) for _ in range(args.rounds)]
                results[(count, "adbutils by serial, one board")] = [_timed(lambda: dev.shell("true", timeout=10)) for _ in range(args.rounds)]
                results[(count, "adbutils by transport_id, one board")] = [_timed(lambda: dev_tid.shell("true", timeout=10)) for _ in range(args.rounds)]
                results[(count, "bare, the probe's batch, one board")] = [bare_round_trip(adb.port, first, BATCH) for _ in range(args.rounds)]
                sent += 4 * args.rounds
                if count > 1:
                    before = _cpu(procs)
                    results[(count, f"bare, all {count} at once")] = [bare_concurrent(adb.port, addresses) for _ in range(args.rounds)]
                    cpu = {name: (after - before[name]) / (args.rounds * count) * 1e6 for name, after in _cpu(procs).items()}
                    devices = [client.device(a) for a in addresses]
                    results[(count, f"adbutils by serial, all {count} at once")] = concurrent_rounds(args.rounds, lambda d: d.shell("true", timeout=10), devices)
                    results[(count, f"bare, the probe's batch, all {count} at once")] = [bare_concurrent(adb.port, addresses, BATCH) for _ in range(args.rounds)]
                    sent += 3 * args.rounds * count
                served = total_round_trips(stats_file)
                print(f"{count:>2} board(s) served: {served} round trips counted by the emulator, {sent} sent"
                      f" -> {'exactly one per query' if served == sent else 'MISMATCH'}")
            finally:
                for address in addresses:
                    client.disconnect(address)
                stop(proc)

    base = statistics.median(results[(1, "bare, one board")])
    print(f"\n{'boards served':>13}  {'measurement':<40} {'median ms':>9} {'p90 ms':>8} {'x bare(1)':>9}")
    for (count, label), times in results.items():
        med, p90 = statistics.median(times), sorted(times)[int(len(times) * 0.9) - 1]
        print(f"{count:>13}  {label:<40} {med * 1000:>9.2f} {p90 * 1000:>8.2f} {med / base:>9.1f}")
    concurrent = statistics.median(results[(args.boards, f"bare, all {args.boards} at once")])
    ratio = concurrent / base
    verdict = "PASS" if ratio <= 8 else "FAIL"
    print(f"\nCPU per round trip while all {args.boards} were queried at once (user+system, psutil):")
    for name, micros in cpu.items():
        print(f"  {name:<11} {micros:6.0f} us  -> {micros * args.boards / 1000:5.2f} ms of CPU per round of {args.boards}")
    floor = cpu["adb server"] * args.boards / 1000
    print(f"the adb server is single-threaded: its own CPU alone puts a floor of {floor:.2f} ms under a round "
          f"(= {floor / (base * 1000):.1f}x one bare round trip)")
    bottleneck = max(cpu, key=cpu.get)
    print(f"largest CPU consumer per round trip: {bottleneck}")
    print(f"\ngoal: {args.boards} concurrent bare round trips within 8x one -> {ratio:.1f}x: {verdict}")
    return 0 if verdict == "PASS" else 1


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


if __name__ == "__main__":
    raise SystemExit(main())
