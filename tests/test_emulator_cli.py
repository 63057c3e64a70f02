"""`rknn-envcheck emulator serve` / `demo` as separate processes, and the adb fixtures' skip/fail rule."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _serve(*args):
    proc = subprocess.Popen([sys.executable, "-m", "rknn_envcheck", "emulator", "serve", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    lines = []
    while not lines or not lines[-1].startswith("serving "):
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"serve exited {proc.wait()}: {proc.stderr.read()}")
        lines.append(line)
    return proc, lines


def test_serve_prints_ports_serves_counts_and_stops_on_sigterm(adb_env, tmp_path):
    stats = tmp_path / "stats.json"
    proc, lines = _serve("rk1808-1.7.5", "rv1106-2.3.2", "--fault", "dmesg-denied", "--stats", str(stats))
    try:
        addresses = [line.split(" listening on ")[1].split()[0] for line in lines[:2]]
        assert [line.split()[0] for line in lines[:2]] == ["rk1808-1.7.5", "rv1106-2.3.2"]
        assert all(a.startswith("127.0.0.1:") and not 5555 <= int(a.split(":")[1]) <= 5585 for a in addresses)
        assert "faults: dmesg-denied" in lines[0]
        assert adb_env.connect(addresses[0]) == f"connected to {addresses[0]}"
        out = adb_env.run("-s", addresses[0], "shell", "strings /usr/bin/rknn_server | grep build; dmesg")
        assert out.stdout == "1.7.5 (bb79b30 build: 2023-07-18 10:49:14)\n.note.gnu.build-id\n"
        assert out.stderr == "dmesg: klogctl: Operation not permitted\n" and out.returncode == 1
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            data = json.loads(stats.read_text()) if stats.exists() else {"boards": []}
            if data["boards"] and data["boards"][0]["stats"]["round_trips"] == 1:
                break
            time.sleep(0.05)
        assert data["boards"][0]["stats"]["round_trips"] == 1 and data["boards"][1]["stats"]["round_trips"] == 0
        assert data["boards"][0]["faults"] == ["dmesg-denied"]
    finally:
        adb_env.disconnect(addresses[0])
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert 'rk1808-1.7.5: {"round_trips": 1' in out


def test_serve_refuses_emulator_ports():
    out = subprocess.run([sys.executable, "-m", "rknn_envcheck", "emulator", "serve", "rk1808-1.7.5", "--port", "5555"],
                         capture_output=True, text=True, cwd=ROOT, timeout=20)
    assert out.returncode == 2 and "5555-5585" in out.stderr


def test_demo_runs_and_tears_down(adb_env):
    out = subprocess.run([sys.executable, "-m", "rknn_envcheck", "emulator", "demo", "rk1808-1.7.5"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert "private adb server:" in out.stdout and "(not your 5037)" in out.stdout
    assert "demo finished" in out.stdout and "rk1808-1.7.5=1" in out.stdout, out.stdout + out.stderr
    assert out.returncode in (0, 1, 3) and "Traceback" not in out.stderr, out.stderr  # the doctor's own exit codes


@pytest.mark.parametrize("ci,outcome", [("", "1 skipped"), ("true", "1 error")])
def test_missing_adb_skips_locally_and_fails_under_ci(tmp_path, ci, outcome):
    (tmp_path / "test_probe.py").write_text(textwrap.dedent("""
        import fixtures_adb
        fixtures_adb.find_adb = lambda: None
        def test_needs_adb(adb_server):
            pass
    """))
    env = dict(os.environ, CI=ci, PYTHONPATH=os.path.join(ROOT, "tests") + os.pathsep + ROOT)
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "fixtures_adb", "-p", "no:cacheprovider",
                          str(tmp_path / "test_probe.py")], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert outcome in out.stdout, out.stdout
    assert "no adb binary" in out.stdout
