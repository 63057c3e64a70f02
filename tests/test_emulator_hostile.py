"""Issue 14 item 6: one emulator client must not stall or exhaust the others (threat model: docs/security.md).

Each test replays an attack that worked on the unbounded server and asserts the safe result:
a catastrophic regex, a 1 GB printf width, an endless or oversized push, a connection flood,
silent connections and protocol garbage. Real parts: the real adb server (tests/fixtures_adb.py),
`emulator serve` as its own process (so its memory and stderr are its own), raw sockets for abuse.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

import psutil
import pytest

from rknn_envcheck.emulator import protocol as P
from rknn_envcheck.emulator.workers import runs_in_process
from rknn_envcheck.probes.board import build_batch, render_batch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEND_BIG = b"SEND" + struct.pack("<I", len(b"/tmp/big,33188")) + b"/tmp/big,33188"
CATASTROPHIC = "echo " + "a" * 27 + " | grep -E '(a|a)*c'"   # 2^27 backtracking steps: ~17 s in `re`


# ------------------------------------------------------------------ helpers

def serve(*args, stderr=None, preexec_fn=None):
    """`emulator serve` in its own process; returns (process, [addresses])."""
    proc = subprocess.Popen([sys.executable, "-m", "rknn_envcheck", "emulator", "serve", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=stderr or subprocess.DEVNULL, text=True, preexec_fn=preexec_fn)
    addresses = []
    while True:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"serve exited with {proc.wait()}")
        if " listening on " in line:
            addresses.append(line.split(" listening on ")[1].split()[0])
        if line.startswith("serving "):
            return proc, addresses


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=20)


class RawClient:
    """A hand-written ADB host: says exactly what a test wants, including what no real host would."""

    def __init__(self, address: str, timeout: float = 10.0):
        host, port = address.split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.buf = b""

    def send(self, command, arg0, arg1, data=b""):
        self.sock.sendall(P.pack(command, arg0, arg1, data))

    def _exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise EOFError("closed by the emulator")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def packet(self):
        command, arg0, arg1, length, _, _ = P.HEADER.unpack(self._exact(24))
        return command, arg0, arg1, self._exact(length)

    def handshake(self):
        self.send(P.A_CNXN, 0x01000001, 1 << 20, b"host::features=shell_v2\x00")
        command, *_ = self.packet()
        assert command == P.A_CNXN
        return self

    def shell(self, command: str, local: int = 1):
        """`shell,v2,raw:` round trip: (stdout, stderr, status)."""
        self.send(P.A_OPEN, local, 0, f"shell,v2,raw:{command}\x00".encode())
        body = b""
        while True:
            cmd, arg0, arg1, data = self.packet()
            if arg1 != local:
                continue
            if cmd == P.A_WRTE:
                body += data
                self.send(P.A_OKAY, local, arg0)
            elif cmd == P.A_CLSE:
                break
        out = {1: b"", 2: b""}
        status = None
        while body:
            kind, length = struct.unpack_from("<BI", body)
            chunk, body = body[5:5 + length], body[5 + length:]
            if kind == P.SHELL_EXIT:
                status = chunk[0]
            else:
                out[kind] += chunk
        return out[1], out[2], status

    def closed_within(self, seconds: float) -> bool:
        """True when the emulator closes (or resets) this connection within `seconds`."""
        self.sock.settimeout(seconds)
        try:
            while self.sock.recv(1 << 16):
                pass
            return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


def tree_rss(proc) -> int:
    """RSS of the server and its shell workers."""
    root = psutil.Process(proc.pid)
    total = 0
    for p in [root] + root.children(recursive=True):
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


class PeakRss:
    def __init__(self, proc):
        self.proc, self.peak, self.running = proc, tree_rss(proc), True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self):
        while self.running and self.proc.poll() is None:
            try:
                self.peak = max(self.peak, tree_rss(self.proc))
            except psutil.Error:
                return
            time.sleep(0.02)

    def stop(self) -> int:
        self.running = False
        self.thread.join()
        return self.peak


# ------------------------------------------------------------------ tests

def test_which_command_lines_stay_on_the_event_loop():
    """The regex engine, directory scans and file writes never run on the loop; pure lookups do."""
    assert runs_in_process("true") and runs_in_process("getprop ro.product.model")
    assert runs_in_process("cat /proc/version 2>/dev/null; uname -m; echo $?")
    assert not runs_in_process(CATASTROPHIC)
    assert not runs_in_process("echo x > /tmp/f") and not runs_in_process("cat /usr/lib/*.so")
    assert not runs_in_process("sh -c 'grep a /proc/version'") and not runs_in_process("command grep a /x")
    assert not runs_in_process(render_batch(build_batch()))  # the real probe: greps, so a worker
    assert not runs_in_process("echo " + "a" * 5000)


def test_catastrophic_regex_does_not_stall_other_clients(served_board, adb_client):
    board, other = served_board("rk3588-2.3.2"), served_board("rk1808-1.7.5")
    attacked = adb_client.device(board.address)
    outcome = {}

    def attack():
        started = time.monotonic()
        outcome["result"] = attacked.shell2(CATASTROPHIC, v2=True, timeout=60)
        outcome["seconds"], outcome["ended"] = time.monotonic() - started, time.monotonic()

    thread = threading.Thread(target=attack)
    thread.start()
    time.sleep(0.5)  # the regex is running in a worker by now
    trips = []
    for dev in (adb_client.device(other.address), attacked):  # another board, and the same transport
        for command in ("true", "grep -c galcore /proc/modules; grep -m1 -o 'Linux version [^ ]*' /proc/version"):
            started = time.monotonic()
            result = dev.shell2(command, v2=True, timeout=10)
            trips.append((time.monotonic() - started, command, result.returncode))
            trips[-1] += (time.monotonic(),)
    thread.join(60)
    assert all(seconds < 1.0 and status in (0, 1) for seconds, _, status, _ in trips), trips
    assert all(end < outcome["ended"] for *_, end in trips), "the victims must be measured while the regex ran"
    result = outcome["result"]
    # Stopped by the CPU limit (152, "CPU time limit exceeded"); once in a CI run the worker was
    # seen to end with status 255 first ("the worker ended", 2) — stopped all the same, and that
    # client is told; which of the two wins the race is not yet explained.
    assert (result.returncode == 152 and "CPU time limit exceeded" in result.stderr) or \
        (result.returncode == 2 and "the worker ended" in result.stderr), result
    assert outcome["seconds"] < 12, outcome  # the CPU limit (2 s) ended it, not the regex (~17 s or more)
    assert attacked.shell2("grep -c Linux /proc/version", v2=True, timeout=10).stdout == "1\n"  # worker replaced


def test_printf_width_and_endless_push_keep_memory_bounded(tmp_path):
    proc, (address,) = serve("rk3588-2.3.2", "--shell-output-cap", "4M", "--sync-file-cap", "8M")
    try:
        client = RawClient(address).handshake()
        client.shell("true")
        time.sleep(1.0)  # the workers are up
        base = tree_rss(proc)
        peak = PeakRss(proc)
        out, err, status = client.shell("printf '%01000000000d' 1")
        assert (out, status) == (b"", 153) and b"output cut at 4194304 bytes" in err
        out, err, status = client.shell("printf '%03000000d' 1 | cat | cat", local=3)  # 3 MB x 3 stages > 4 MiB
        assert status == 153 and len(out) < 4 * 1024 * 1024

        # a push that never ends, by a host that waits for each OKAY (as adb does)
        client.send(P.A_OPEN, 5, 0, b"sync:\x00")
        _, device_id, _, _ = client.packet()
        client.send(P.A_WRTE, 5, device_id, SEND_BIG)
        chunk = b"DATA" + struct.pack("<I", 65536) + b"x" * 65536
        failed, sent = b"", 0
        while not failed and sent < 64 * 1024 * 1024:
            client.send(P.A_WRTE, 5, device_id, chunk)
            sent += len(chunk)
            while True:
                cmd, _, _, data = client.packet()
                if cmd == P.A_WRTE:
                    failed = data
                    client.send(P.A_OKAY, 5, device_id)
                if cmd in (P.A_OKAY, P.A_CLSE) or failed:
                    break
        assert failed.startswith(b"FAIL") and b"file too large" in failed and sent <= 9 * 1024 * 1024

        # a push flooded without waiting for OKAYs and never read: the connection is dropped
        flood = RawClient(address).handshake()
        flood.send(P.A_OPEN, 7, 0, b"sync:\x00")
        _, flood_id, _, _ = flood.packet()
        flood.send(P.A_WRTE, 7, flood_id, SEND_BIG)
        with pytest.raises((ConnectionError, BrokenPipeError, socket.timeout)):
            for _ in range(3000):  # 200 MB
                flood.send(P.A_WRTE, 7, flood_id, chunk)
        grown = peak.stop() - base
        assert grown < 120 * 1024 * 1024, f"server + workers grew by {grown >> 20} MiB"
        assert client.shell("echo still here", local=9)[0] == b"still here\n"
    finally:
        stop(proc)


def test_push_over_the_cap_is_refused_by_the_real_adb(adb_env, tmp_path):
    proc, (address,) = serve("rk3588-2.3.2", "--sync-file-cap", "1M")
    try:
        assert adb_env.connect(address) == f"connected to {address}"
        (tmp_path / "big").write_bytes(os.urandom(3 * 1024 * 1024))
        out = adb_env.run("-s", address, "push", str(tmp_path / "big"), "/tmp/big")
        assert out.returncode == 1 and "file too large" in out.stdout + out.stderr
        (tmp_path / "small").write_bytes(b"ok\n")
        assert adb_env.run("-s", address, "push", str(tmp_path / "small"), "/tmp/small").returncode == 0
        assert adb_env.run("-s", address, "shell", "cat /tmp/small").stdout == "ok\n"
    finally:
        adb_env.disconnect(address)
        stop(proc)


def test_connection_limit_refuses_the_next_and_keeps_the_first(adb_env, tmp_path):
    stats = tmp_path / "stats.json"
    proc, (address,) = serve("rk3588-2.3.2", "--max-connections", "4", "--stats", str(stats),
                             stderr=open(tmp_path / "err", "w"))
    try:
        held = [RawClient(address).handshake() for _ in range(4)]
        extra = RawClient(address)
        assert extra.closed_within(2.0)  # closed at once, not queued
        try:  # the real adb server is refused too
            reply = adb_env.connect(address, timeout=3)
        except TimeoutError as exc:
            reply = str(exc)
        assert not reply.startswith("connected"), reply
        assert all(c.shell("echo ok")[0] == b"ok\n" for c in held)  # the first N stay and work
        held.pop().close()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:  # a free slot: the adb server gets in (it may retry on its own)
            out = adb_env.run("-s", address, "shell", "echo ok", timeout=20)
            if out.stdout == "ok\n":
                break
            time.sleep(0.5)
        assert out.stdout == "ok\n", out
    finally:
        adb_env.disconnect(address)
        stop(proc)
    err = (tmp_path / "err").read_text()
    assert err.count("refusing new connections: 4 are open (--max-connections 4)") == 1, err
    import json

    counters = json.loads(stats.read_text())["boards"][0]["stats"]
    assert counters["refused_connections"] >= 2 and counters["connections"] >= 5


def test_silent_connections_time_out_but_the_adb_server_stays(adb_env, tmp_path):
    stats = tmp_path / "stats.json"
    proc, (address,) = serve("rk3588-2.3.2", "--handshake-timeout", "0.5", "--idle-timeout", "2.5",
                             "--stats", str(stats), stderr=open(tmp_path / "err", "w"))
    try:
        assert adb_env.connect(address) == f"connected to {address}"
        started = time.monotonic()
        silent = RawClient(address)                 # never says CNXN
        greeted = RawClient(address).handshake()    # says CNXN, then nothing (and no TCP keepalive)
        assert silent.closed_within(3.0) and time.monotonic() - started < 2.5
        assert greeted.closed_within(5.0)
        time.sleep(3.0)  # the adb server's transport has now been idle far past --idle-timeout
        assert adb_env.run("-s", address, "shell", "echo ok").stdout == "ok\n"
    finally:
        adb_env.disconnect(address)
        stop(proc)
    import json

    assert json.loads(stats.read_text())["boards"][0]["stats"]["connections"] == 3  # the adb server never reconnected
    err = (tmp_path / "err").read_text()
    assert "handshake timeout" in err and "closed: idle for" in err and err.count("\n") == 2, err


def test_protocol_garbage_gives_one_log_line_per_connection_not_a_traceback(tmp_path):
    proc, (address,) = serve("rk3588-2.3.2", stderr=open(tmp_path / "err", "w"))
    try:
        junk = RawClient(address)
        junk.sock.sendall(os.urandom(4096))
        assert junk.closed_within(3.0)
        huge = RawClient(address)
        huge.send(P.A_CNXN, 0x01000001, 1 << 20, b"host::\x00")
        huge.packet()
        huge.sock.sendall(P.HEADER.pack(P.A_WRTE, 1, 1, 1 << 30, 0, P.A_WRTE ^ 0xFFFFFFFF))
        assert huge.closed_within(3.0)
        odd = RawClient(address).handshake()   # 50 commands whose tools choke on their input
        for i in range(50):
            out, err, status = odd.shell("grep -m notanumber a /proc/version", local=i + 1)
            assert status == 2 and err.startswith(b"grep: ")
        odd.close()
        time.sleep(0.5)
    finally:
        stop(proc)
    err = (tmp_path / "err").read_text()
    assert "Traceback" not in err and "Unhandled" not in err, err
    lines = err.splitlines()
    assert len(lines) == 3, err
    assert sum("not the ADB protocol (bad magic" in line for line in lines) == 1
    assert sum("payload of 1073741824 bytes is too large" in line for line in lines) == 1
    assert sum("`grep` failed on its input" in line and "(and 49 more problem(s))" in line for line in lines) == 1


def test_connection_flood_under_a_low_open_file_limit(adb_env, tmp_path):
    """The reproduced lock-out: more connections than `ulimit -n` allows, then the real adb server."""
    import resource

    def low_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

    proc, (address,) = serve("rk3588-2.3.2", "--handshake-timeout", "1", "--shell-workers", "2",
                             stderr=open(tmp_path / "err", "w"), preexec_fn=low_limit)
    try:
        flood = [RawClient(address) for _ in range(300)]
        time.sleep(2.0)  # past the handshake timeout: every silent connection is gone
        assert adb_env.connect(address) == f"connected to {address}"
        assert adb_env.run("-s", address, "shell", "grep -c Linux /proc/version").stdout == "1\n"
        assert sum(c.closed_within(0.5) for c in flood) == 300
    finally:
        adb_env.disconnect(address)
        stop(proc)
    err = (tmp_path / "err").read_text()
    lowered = re.search(r"the open-file limit \(ulimit -n\) is 256: --max-connections lowered from 256 to (\d+)", err)
    assert lowered and 0 < int(lowered.group(1)) < 256, err[:500]
    assert "Traceback" not in err and "Too many open files" not in err, err[-2000:]
    assert err.count("handshake timeout") >= int(lowered.group(1))  # each held one was closed, one line each
