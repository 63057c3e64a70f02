"""Board inspection end to end: the real adb server (private port) + emulated boards + our CLI."""
import json
import time

import pytest

from core_helpers import run_cli
from rknn_envcheck.emulator.profile import load_profile, shipped_profiles

HEALTHY = "rk3588-2.3.2"


def _device_json(capsys, *args):
    code, out, err = run_cli(capsys, "device", *args, "--json")
    assert "Traceback" not in err, err
    return code, json.loads(out)


def _statuses(report, serial):
    return {c["id"]: c["status"] for c in report["checks"] if c["subject"] == f"device:{serial}"}


def _worst(statuses):
    order = ["ok", "skipped", "unknown", "warn", "fail"]
    return max(statuses, key=order.index) if statuses else "ok"


@pytest.mark.parametrize("name", shipped_profiles())
def test_every_profile_through_the_real_adb_server(capsys, served_board, name):
    board = served_board(name)
    meta = load_profile(name).meta
    args = ["--id", board.serial] + (["--toolkit", meta["toolkit"]] if meta.get("toolkit") else [])
    code, report = _device_json(capsys, *args)
    statuses = _statuses(report, board.serial)
    assert statuses, report
    assert _worst(statuses.values()) == meta["expect_status"], statuses
    assert board.stats.round_trips == 1, "exactly one shell round trip per healthy board"
    facts = report["facts"]["devices"][0]
    assert facts["transport"] == "adb" and facts["serial"] == board.serial


@pytest.mark.parametrize("fault, expected_kind", [
    ("hang", "timeout"), ("drop", "disconnected"), ("garbage", "incomplete"), ("truncated", "incomplete"),
])
def test_faults_make_that_board_unknown_within_the_timeout(capsys, served_board, fault, expected_kind):
    bad = served_board(HEALTHY, fault=fault)
    good = served_board("rk1808-1.7.5")
    start = time.monotonic()
    code, report = _device_json(capsys, "--id", bad.serial, "--id", good.serial, "--timeout", "1.5", "--toolkit", "rknn-toolkit2==2.3.2")
    elapsed = time.monotonic() - start
    assert elapsed < 6, f"the run must end within the per-board timeout, took {elapsed:.1f}s"
    bad_checks = [c for c in report["checks"] if c["subject"] == f"device:{bad.serial}"]
    assert [c["status"] for c in bad_checks] == ["unknown"], bad_checks
    assert expected_kind in bad_checks[0]["observed"]
    good_statuses = _statuses(report, good.serial)
    assert good_statuses and "unknown" not in good_statuses.values(), "other boards are unaffected"


def test_missing_binaries_and_dmesg_denied(capsys, served_board):
    no_strings = served_board(HEALTHY, fault="missing-binary")  # busybox without `strings`
    no_server = served_board(HEALTHY, fault="missing-binary=/usr/bin/rknn_server")
    denied = served_board("rk1808-1.7.5", fault="dmesg-denied")
    code, report = _device_json(capsys, "--id", no_strings.serial, "--id", no_server.serial, "--id", denied.serial,
                                "--toolkit", "rknn-toolkit2==2.3.2")
    # Without `strings` the versions still come through the grep -a fallback, in the same round trip.
    assert _statuses(report, no_strings.serial)["device.runtime"] == "ok"
    assert no_strings.stats.round_trips == 1
    server = [c for c in report["checks"] if c["subject"] == f"device:{no_server.serial}" and c["id"] == "device.rknn_server"][0]
    assert server["status"] == "fail" and "not found" in server["message"]
    den = [c for c in report["checks"] if c["subject"] == f"device:{denied.serial}" and c["id"] == "device.driver"]
    assert den and den[0]["status"] == "unknown" and "not permitted" in den[0]["message"]


@pytest.mark.parametrize("fault, state", [("unauthorized", "unauthorized"), ("offline", "offline")])
def test_unauthorized_and_offline_boards_are_diagnosed(capsys, served_board, fault, state):
    board = served_board(HEALTHY, fault=fault, connect_timeout=1.0)
    code, report = _device_json(capsys, "--all", "--timeout", "2", "--toolkit", "rknn-toolkit2==2.3.2")
    checks = [c for c in report["checks"] if c["subject"] == f"device:{board.serial}"]
    assert checks and checks[0]["status"] == "fail" and checks[0]["observed"] == state, report["checks"]
    assert checks[0]["fix"]["commands"]
    assert code == 1


def test_unknown_serial_is_named(capsys, served_board):
    served_board(HEALTHY)
    code, report = _device_json(capsys, "--id", "127.0.0.1:1", "--toolkit", "rknn-toolkit2==2.3.2")
    assert code == 1 and any(c["id"] == "connection.board" and c["status"] == "fail" for c in report["checks"])


@pytest.mark.slow
def test_32_boards_at_once_one_round_trip_each(capsys, served_board):
    boards = [served_board(HEALTHY) for _ in range(32)]
    start = time.monotonic()
    code, report = _device_json(capsys, *sum((["--id", b.serial] for b in boards), []), "--toolkit", "rknn-toolkit2==2.3.2")
    elapsed = time.monotonic() - start
    assert code == 0, [c for c in report["checks"] if c["status"] != "ok"]
    assert all(b.stats.round_trips == 1 for b in boards)
    assert len(report["facts"]["devices"]) == 32
    assert elapsed < 15


def test_doctor_text_and_json_with_boards(capsys, served_board):
    good = served_board(HEALTHY)
    bad = served_board("rk3588-mixed-server-runtime")
    code, out, err = run_cli(capsys, "--toolkit", "rknn-toolkit2==2.3.2")
    assert "Traceback" not in err
    assert f"Board {good.serial}" in out and f"Board {bad.serial}" in out and "Host" in out
    assert "FAIL" in out and out.rstrip().splitlines()[-1].split()[1].startswith("problem")
    code_json, out_json, _ = run_cli(capsys, "--toolkit", "rknn-toolkit2==2.3.2", "--json")
    report = json.loads(out_json)
    subjects = set(report["subjects"])
    assert {"host", f"device:{good.serial}", f"device:{bad.serial}"} <= subjects
    assert code == code_json == 1


def test_ntb_compute_stick_listing(capsys, adb_env, monkeypatch):
    from rknn_envcheck.emulator.ntb import FakeNtbProxy

    with FakeNtbProxy() as proxy:
        monkeypatch.setenv("PATH", proxy.path_env()["PATH"])
        code, out, _err = run_cli(capsys, "--json")
    report = json.loads(out)
    ntb = [d for d in report["facts"]["devices"] if d["transport"] == "ntb"]
    assert ntb and ntb[0]["serial"] == "TB-RK1808S0"
    checks = [c for c in report["checks"] if c["subject"] == "device:TB-RK1808S0"]
    assert checks and checks[0]["status"] == "unknown" and "NTB" in checks[0]["message"]


def test_no_start_server_with_nothing_listening(capsys, monkeypatch):
    from rknn_envcheck.emulator.adbserver import free_port

    monkeypatch.setenv("ANDROID_ADB_SERVER_PORT", str(free_port()))
    code, out, _ = run_cli(capsys, "device", "--all", "--no-start-server", "--json")
    report = json.loads(out)
    server = [c for c in report["checks"] if c["id"] == "connection.adb-server"][0]
    assert server["status"] == "unknown" and "--no-start-server" in server["message"]


def test_slow_board_within_and_beyond_the_timeout(capsys, served_board):
    slow = served_board(HEALTHY, fault="slow=300")
    code, report = _device_json(capsys, "--id", slow.serial, "--timeout", "3", "--toolkit", "rknn-toolkit2==2.3.2")
    assert code == 0 and "unknown" not in _statuses(report, slow.serial).values()
    too_slow = served_board(HEALTHY, fault="slow=3000")
    start = time.monotonic()
    code, report = _device_json(capsys, "--id", too_slow.serial, "--timeout", "1", "--toolkit", "rknn-toolkit2==2.3.2")
    assert time.monotonic() - start < 5
    checks = [c for c in report["checks"] if c["subject"] == f"device:{too_slow.serial}"]
    assert [c["status"] for c in checks] == ["unknown"] and "timeout" in checks[0]["observed"]
