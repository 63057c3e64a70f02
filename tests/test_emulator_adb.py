"""Emulated boards through the REAL adb server (private, never 5037) and adbutils: protocol and faults."""
from __future__ import annotations

import concurrent.futures
import os
import shutil
import subprocess
import time

import pytest

import adbutils

pytestmark = pytest.mark.adb

BUILD_LINE = b"1.7.5 (bb79b30 build: 2023-07-18 10:49:14)\n.note.gnu.build-id\n"
CMD = "strings /usr/bin/rknn_server | grep build"


def adb(server, *args, timeout=20):
    """The adb CLI against the private server; bytes, so CR/LF and NULs are seen as sent."""
    return subprocess.run([server.adb, "-P", str(server.port), *args], env=server.env, capture_output=True, timeout=timeout)


def state_of(client, serial):
    return {d.serial: d.state for d in client.list(extended=True)}.get(serial)


def test_private_server_is_isolated(adb_env):
    adb_server = adb_env
    assert adb_server.port != 5037 and os.environ["ANDROID_ADB_SERVER_PORT"] == str(adb_server.port)
    assert adb_server.env["HOME"] != os.path.expanduser("~") and adb_server.env["ADB_EMU"] == "0"
    assert adb_server.process.poll() is None


def test_two_terminal_demo_prints_exactly_the_board_string(served_board, adb_env):
    board = served_board("rk1808-1.7.5")
    assert board.connect_reply == f"connected to {board.address}"
    assert not 5555 <= board.port <= 5585
    devices = adb(adb_env, "devices", "-l").stdout.decode()
    assert f"{board.address}" in devices and "device product:rk1808 model:RK1808 device:rk1808" in devices
    out = adb(adb_env, "-s", board.address, "shell", CMD)
    assert (out.stdout, out.stderr, out.returncode) == (BUILD_LINE, b"", 0)
    assert board.stats.round_trips == 1


def test_shell_v2_exit_codes_and_separate_stderr_via_cli(served_board, adb_env):
    board = served_board("rk3588-2.3.2")
    assert adb(adb_env, "-s", board.address, "shell", "false").returncode == 1
    out = adb(adb_env, "-s", board.address, "shell", "nosuch")
    assert (out.stdout, out.stderr, out.returncode) == (b"", b"sh: nosuch: not found\n", 127)
    out = adb(adb_env, "-s", board.address, "exec-out", "cat", "/proc/device-tree/compatible")
    assert out.stdout == b"rockchip,rk3588s-orangepi-5\x00rockchip,rk3588\x00"


def test_pull_of_a_file(served_board, adb_env, tmp_path):
    board = served_board("rk1808-1.7.5")
    out = adb(adb_env, "-s", board.address, "pull", "/usr/bin/rknn_server", str(tmp_path / "rknn_server"))
    assert out.returncode == 0, out.stderr
    data = (tmp_path / "rknn_server").read_bytes()
    assert data == board.state.fs.get("/usr/bin/rknn_server").content()
    if shutil.which("strings"):
        found = subprocess.run(f"strings {tmp_path / 'rknn_server'} | grep build", shell=True, capture_output=True).stdout
        assert found == BUILD_LINE
    missing = adb(adb_env, "-s", board.address, "pull", "/nope", str(tmp_path / "x"))
    assert missing.returncode == 1 and b"/nope" in missing.stderr


def test_adbutils_shell_shell2_sync_and_props(served_board, adb_client):
    board = served_board("rk3568-android-rknpu2-1.4.0")
    dev = adb_client.device(board.address)
    assert dev.shell("strings /vendor/bin/rknn_server | grep build", timeout=5) == "1.4.0 (bb6dac9 build: 2022-08-29 16:16:56)"
    v2 = dev.shell2("cat /nope; getprop ro.build.version.sdk", v2=True, timeout=5)
    assert (v2.returncode, v2.stdout, v2.stderr) == (0, "30\n", "cat: /nope: No such file or directory\n")
    v1 = dev.shell2("test -e /vendor/lib64/librknnrt.so", timeout=5)  # v1 + `; echo X4EXIT:$?` marker
    assert v1.returncode == 0
    assert dev.prop.model == "rk3568_r"
    assert set(dev.get_features().split(",")) == {"shell_v2", "cmd", "stat_v2"}
    info = dev.sync.stat("/vendor/lib64/librknnrt.so")
    assert info.size == len(board.state.fs.get("/vendor/lib64/librknnrt.so").data) and info.mode & 0o111
    assert not dev.sync.exists("/nope")
    assert {e.path for e in dev.sync.list("/vendor/bin")} == {"rknn_server"}
    assert b"librknnrt version: 1.4.0" in dev.sync.read_bytes("/vendor/lib64/librknnrt.so")
    dev.sync.push(b"pushed\n", "/data/local/tmp/x.txt")
    assert dev.shell("cat /data/local/tmp/x.txt", timeout=5) == "pushed"
    assert board.stats.sync_sessions >= 5


def test_unknown_service_is_refused(served_board, adb_env):
    board = served_board("rk3588-2.3.2")
    out = adb(adb_env, "-s", board.address, "reverse", "--list")
    assert out.returncode == 1 and b"error: closed" in out.stderr


def test_fault_unauthorized(served_board, adb_client):
    board = served_board("rk3588-2.3.2", fault="unauthorized")
    assert board.connect_reply.startswith("failed to authenticate")
    assert state_of(adb_client, board.address) == "unauthorized"
    with pytest.raises(adbutils.AdbError, match="unauthorized"):
        adb_client.device(board.address).shell("true", timeout=2)
    assert board.stats.round_trips == 0


def test_fault_offline(served_board, adb_client):
    started = time.monotonic()
    board = served_board("rk3588-2.3.2", fault="offline", connect_timeout=1.0)
    assert board.connect_reply.startswith("timeout") and time.monotonic() - started < 3
    assert state_of(adb_client, board.address) == "offline"
    with pytest.raises(adbutils.AdbError, match="offline"):
        adb_client.device(board.address).shell("true", timeout=2)


def test_fault_hang_times_out_and_board_stays_listed(served_board, adb_client):
    board = served_board("rk3588-2.3.2", fault="hang")
    dev = adb_client.device(board.address)
    started = time.monotonic()
    with pytest.raises(adbutils.AdbTimeout):
        dev.shell2("true", v2=True, timeout=0.5)
    assert 0.5 <= time.monotonic() - started < 2
    assert state_of(adb_client, board.address) == "device"
    assert (board.stats.round_trips, board.stats.shell_commands) == (1, 0)


def test_fault_drop_partial_output_in_shell(served_board, adb_client):
    board = served_board("rk1808-1.7.5", fault="drop")
    out = adb_client.device(board.address).shell(CMD, timeout=5)
    assert out and BUILD_LINE.decode().startswith(out) and len(out) < len(BUILD_LINE.decode().strip())
    time.sleep(0.05)
    assert state_of(adb_client, board.address) == "offline"


def test_fault_drop_is_eof_in_shell2_v2(served_board, adb_client):
    board = served_board("rk1808-1.7.5", fault="drop")
    with pytest.raises(EOFError):
        adb_client.device(board.address).shell2(CMD, v2=True, timeout=5)


def test_fault_garbage_truncated_slow(served_board, adb_client):
    garbage = adb_client.device(served_board("rk1808-1.7.5", fault="garbage").address).shell2(CMD, v2=True, timeout=5)
    assert garbage.returncode == 0 and "build" not in garbage.stdout and garbage.stdout
    truncated = adb_client.device(served_board("rk1808-1.7.5", fault="truncated").address).shell2(CMD, v2=True, timeout=5)
    assert truncated.returncode == 0 and truncated.stdout == BUILD_LINE.decode()[:len(BUILD_LINE) // 2]
    slow = adb_client.device(served_board("rk1808-1.7.5", fault="slow=200").address)
    started = time.monotonic()
    assert slow.shell("echo ok", timeout=5) == "ok"
    assert time.monotonic() - started >= 0.2


def test_fault_missing_binary_and_dmesg_denied(served_board, adb_client, adb_env):
    board = served_board("rk1808-1.7.5", fault="missing-binary")
    result = adb_client.device(board.address).shell2("strings /usr/bin/rknn_server", v2=True, timeout=5)
    assert (result.returncode, result.stderr) == (127, "sh: strings: not found\n")
    assert adb(adb_env, "-s", board.address, "shell", "strings /usr/bin/rknn_server").returncode == 127
    denied = served_board("rk1808-1.7.5", fault="dmesg-denied")
    result = adb_client.device(denied.address).shell2("dmesg | grep -i galcore", v2=True, timeout=5)
    assert (result.returncode, result.stdout, result.stderr) == (1, "", "dmesg: klogctl: Operation not permitted\n")


def test_legacy_adbd_crlf_small_payload_no_exit_codes(served_board, adb_client, adb_env, tmp_path):
    board = served_board("legacy-linux-adbd")
    listing = adb(adb_env, "devices", "-l").stdout.decode()
    assert f"{board.address}        device transport_id:" in listing  # empty banner: no product/model
    out = adb(adb_env, "-s", board.address, "shell", "uname -m; nosuch")
    assert (out.stdout, out.returncode) == (b"aarch64\r\nsh: nosuch: not found\r\n", 0)  # v1: status lost
    dev = adb_client.device(board.address)
    assert dev.get_features() == ""
    assert dev.shell2("nosuch", timeout=5).returncode == 127  # adbutils' marker still gets it
    payload = os.urandom(100_000)
    (tmp_path / "big").write_bytes(payload)
    assert adb(adb_env, "-s", board.address, "push", str(tmp_path / "big"), "/tmp/big").returncode == 0
    assert adb(adb_env, "-s", board.address, "pull", "/tmp/big", str(tmp_path / "back")).returncode == 0
    assert (tmp_path / "back").read_bytes() == payload


def test_counters_one_round_trip_per_command(served_board, adb_client):
    board = served_board("rk3588-2.3.2")
    dev = adb_client.device(board.address)
    for _ in range(3):
        dev.shell("echo a; echo b | grep b", timeout=5)
    assert (board.stats.round_trips, board.stats.shell_commands, board.stats.simple_commands) == (3, 3, 9)
    assert board.stats.connections == 1


def test_32_boards_at_once(served_board, adb_client):
    boards = [served_board(name) for name in ["rk1808-1.7.5", "rk3588-2.3.2", "rv1106-2.3.2", "rk3568-android-rknpu2-1.4.0"] * 8]
    assert all(b.connect_reply == f"connected to {b.address}" for b in boards)
    listed = {d.serial: d.state for d in adb_client.list()}
    assert all(listed.get(b.address) == "device" for b in boards)

    def ask(board):
        return adb_client.device(board.address).shell2("cat /proc/device-tree/compatible", v2=True, timeout=10).stdout

    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        answers = list(pool.map(ask, boards))
    for board, answer in zip(boards, answers):
        assert answer.encode("latin-1") == board.state.fs.get("/proc/device-tree/compatible").content()
        assert board.stats.round_trips == 1
