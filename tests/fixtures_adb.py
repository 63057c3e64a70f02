"""pytest fixtures: a private adb server (never 5037) and emulated boards attached to it.

    def test_x(served_board):
        board = served_board("rk1808-1.7.5")               # served + `adb connect`ed
        board = served_board("rk3588-2.3.2", fault="hang")  # with a fault
        board.serial, board.stats.round_trips, board.connect_reply

No adb binary: the tests are skipped with the reason, except under CI=true where it is a failure.
"""
from __future__ import annotations

import os

import pytest

from rknn_envcheck.emulator.adbserver import PrivateAdbServer, find_adb
from rknn_envcheck.emulator.faults import parse_faults
from rknn_envcheck.emulator.profile import load_profile
from rknn_envcheck.emulator.server import EmulatorHost

NO_ADB = ("no adb binary (looked at $ADBUTILS_ADB_PATH, the adbutils wheel's bundled adb, `adb` on PATH); "
          "install adbutils or `apt-get install adb`")


@pytest.fixture(scope="session")
def adb_server():
    adb = find_adb()
    if adb is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(NO_ADB + " -- under CI=true a missing adb is a failure, not a skip")
        pytest.skip(NO_ADB)
    server = PrivateAdbServer(adb).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def emulator_host():
    host = EmulatorHost()
    yield host
    host.stop()


@pytest.fixture
def adb_env(adb_server, monkeypatch):
    """Point every adb/adbutils call in this process at the private server (never 5037)."""
    monkeypatch.setenv("ANDROID_ADB_SERVER_PORT", str(adb_server.port))
    monkeypatch.setenv("ADBUTILS_ADB_PATH", adb_server.adb)
    return adb_server


@pytest.fixture
def adb_client(adb_env):
    return adb_env.client()


@pytest.fixture
def served_board(adb_env, emulator_host):
    created = []

    def factory(profile, fault=None, connect=True, connect_timeout=5.0):
        prof = load_profile(profile) if isinstance(profile, str) else profile
        faults = parse_faults([fault] if isinstance(fault, str) else list(fault or []))
        board = emulator_host.serve(prof, faults)
        created.append(board)
        board.connect_reply = None
        if connect:
            try:
                board.connect_reply = adb_env.connect(board.address, timeout=connect_timeout)
            except TimeoutError as exc:  # fault `offline`: the handshake is never answered
                board.connect_reply = f"timeout: {exc}"
        return board

    yield factory
    for board in created:
        adb_env.disconnect(board.address)
        emulator_host.close_board(board)


@pytest.fixture
def fake_ntb_proxy(monkeypatch):
    """A running fake `npu_transfer_proxy` (one TB-RK1808S0 stick) whose directory is first on PATH.

    Replace the listed sticks with `proxy.devices`-style tuples via FakeNtbProxy directly if needed.
    """
    from rknn_envcheck.emulator.ntb import FakeNtbProxy

    proxy = FakeNtbProxy()
    monkeypatch.setenv("PATH", proxy.path_env()["PATH"])
    proxy.start()
    yield proxy
    proxy.close()
