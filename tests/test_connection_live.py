"""Connection rules on live boards: emulated boards over the real adb server, the fake
npu_transfer_proxy, USB through a fake sysfs tree and pyusb's fake backend; the doctor's facts
replayed with `check --facts` give the same rows; the adb start policy (issue 17 §5)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from core_helpers import run_cli
from rknn_envcheck.emulator.adbserver import find_adb, free_port
from rknn_envcheck.probes import usb as usb_probe
from usb_fakes import ADB_INTERFACE, MTP_INTERFACE, FakeBackend, make_sysfs

TK1 = ("--toolkit", "rknn-toolkit==1.7.5")


def rows(report: dict) -> dict:
    return {c["id"]: c for c in report["checks"] if c["subject"] == "connection"}


def comparable(report: dict) -> list:
    """Everything a user sees of a check but its duration."""
    return sorted(json.dumps({k: v for k, v in c.items() if k != "duration_ms"}, sort_keys=True, ensure_ascii=False) for c in report["checks"])


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.3):
            return True
    except OSError:
        return False


@pytest.fixture
def usb_tree(tmp_path, monkeypatch):
    """Make the host's USB scan read a fake sysfs tree (devices given to the returned function)."""
    real = usb_probe.scan_usb

    def use(devices, compatible=None):
        root = make_sysfs(tmp_path / "root", devices, compatible=compatible)
        monkeypatch.setattr(usb_probe, "scan_usb", lambda backend=None, matrix=None, **_: real(matrix=matrix, sysfs_root=str(root)))
        return root

    return use


@pytest.fixture
def usb_backend(monkeypatch):
    """Make the host's USB scan go through pyusb with a fake backend (as on macOS / Windows)."""
    real = usb_probe.scan_usb

    def use(devices):
        backend = FakeBackend(devices)
        monkeypatch.setattr(usb_probe, "scan_usb", lambda backend_=None, matrix=None, **_: real(backend=backend, matrix=matrix))

    return use


def test_doctor_facts_replay_gives_identical_connection_verdicts(capsys, tmp_path, served_board, fake_ntb_proxy, usb_tree):
    """Doctor --save-facts, then check --facts: the same checks (ids, statuses, messages, fixes)."""
    usb_tree([(0x2207, 0x0006, 1, 5, [ADB_INTERFACE], "515e9b401c060c0b")])
    rk1808 = served_board("rk1808-1.7.5")
    served_board("rv1126-1.7.5-mini-driver")
    saved = tmp_path / "doctor.json"
    code, out, err = run_cli(capsys, *TK1, "--save-facts", str(saved), "--json")
    assert "Traceback" not in err
    live = json.loads(out)
    connection = rows(live)
    # the live run saw the proxy (fake_ntb_proxy runs) and its stick while ADB boards are listed
    assert connection["connection.proxy-adb"]["status"] == "fail" and rk1808.serial in connection["connection.proxy-adb"]["message"]
    assert connection["connection.adb-ntb"]["status"] == "fail" and "TB-RK1808S0" in connection["connection.adb-ntb"]["message"]
    assert connection["connection.adb-platform"]["status"] == "ok"  # this host is Linux x86_64
    assert connection["connection.adb-server"]["status"] == "ok"
    code2, out2, _ = run_cli(capsys, "check", "--facts", str(saved), "--json")
    replay = json.loads(out2)
    assert comparable(live) == comparable(replay) and code == code2 == 1


def only_our_processes(monkeypatch):
    """Other test runs on this machine may run their own fake proxies: look only at our children."""
    from rknn_envcheck.probes import processes

    real = processes.linux_candidates

    def ours(proc_root="/proc"):
        pids = real(proc_root)
        if pids is None:
            return None
        mine = []
        for pid in pids:
            try:
                with open(f"{proc_root}/{pid}/stat") as handle:
                    if int(handle.read().rsplit(")", 1)[1].split()[1]) == os.getpid():
                        mine.append(pid)
            except (OSError, ValueError, IndexError):
                continue
        return mine

    monkeypatch.setattr(processes, "linux_candidates", ours)


def test_proxy_rule_passes_once_the_proxy_is_stopped(capsys, served_board, fake_ntb_proxy, usb_tree, monkeypatch):
    only_our_processes(monkeypatch)
    usb_tree([])
    served_board("rk1808-1.7.5")
    fake_ntb_proxy.stop()
    _code, out, _ = run_cli(capsys, *TK1, "--json")
    assert rows(json.loads(out))["connection.proxy-adb"]["status"] == "ok"


def test_proxy_rule_is_unknown_when_processes_cannot_be_read(capsys, served_board, monkeypatch, usb_tree):
    from rknn_envcheck.probes import processes

    usb_tree([])
    served_board("rk1808-1.7.5")
    monkeypatch.setattr(processes, "scan_processes", lambda timeout=3.0: {"error": "psutil is not installed: python3 -m pip install psutil",
                                                                          "how": "import psutil"})
    _code, out, _ = run_cli(capsys, *TK1, "--json")
    row = rows(json.loads(out))["connection.proxy-adb"]
    assert row["status"] == "unknown" and row["fix"]["commands"][0]["argv"] == ["pgrep", "-l", "npu_transfer_proxy"]


def test_ntb_stick_on_usb_without_a_udev_rule_fails_live(capsys, adb_env, usb_tree):
    """A compute stick in the (fake) sysfs tree and this machine's real udev rules directories."""
    usb_tree([(0x2207, 0x0018, 3, 75, [])])
    _code, out, _ = run_cli(capsys, *TK1, "--json")
    report = json.loads(out)
    row = rows(report)["connection.ntb-access"]
    granted = any(line.get("grants") for f in report["facts"]["host"].get("udev") or [] for line in f.get("lines") or [])
    assert row["status"] == ("ok" if granted else "fail")
    if row["status"] == "fail":
        assert [c["argv"][-2:] for c in row["fix"]["commands"]] == [["--install", "--dry-run"], ["udev", "--install"]]


# ---------------------------------------------------------------- the adb start policy (issue 17 §5)

@pytest.fixture
def private_port(monkeypatch, tmp_path_factory):
    """A port no adb server listens on; whatever the test starts there is killed afterwards."""
    adb = find_adb()
    if adb is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("no adb binary -- under CI=true a missing adb is a failure, not a skip")
        pytest.skip("no adb binary")
    port = free_port()
    home = str(tmp_path_factory.mktemp("adb-home"))
    monkeypatch.setenv("ANDROID_ADB_SERVER_PORT", str(port))
    monkeypatch.setenv("ADBUTILS_ADB_PATH", adb)
    monkeypatch.setenv("HOME", home)
    monkeypatch.setenv("ADB_MDNS", "0")
    monkeypatch.setenv("ADB_USB", "0")  # a started server must not claim real USB devices of this machine
    yield port
    if listening(port):
        subprocess.run([adb, "-P", str(port), "kill-server"], capture_output=True, timeout=20)


def test_no_rockchip_device_no_adb_server(capsys, private_port, usb_tree):
    usb_tree([(0x1d6b, 0x0003, 2, 1, [])])  # a USB bus with a hub and nothing of Rockchip's
    code, out, _ = run_cli(capsys, "--json")
    report = json.loads(out)
    assert not listening(private_port)
    adb = report["facts"]["adb"]
    assert adb["started"] is False and "no Rockchip USB device in ADB mode; adb server not started" in adb["reason"]
    assert rows(report)["connection.adb-server"]["status"] == "skipped"


@pytest.mark.parametrize("source", ["sysfs", "pyusb"])
def test_an_adb_mode_board_on_usb_starts_the_server_and_says_why(capsys, private_port, usb_tree, usb_backend, source):
    """RKNPU2-style composite gadget: product id 0019, recognised by its ADB interface."""
    device = (0x2207, 0x0019, 1, 7, [MTP_INTERFACE, ADB_INTERFACE])
    usb_tree([device]) if source == "sysfs" else usb_backend([device])
    _code, out, _ = run_cli(capsys, "--json")
    report = json.loads(out)
    adb = report["facts"]["adb"]
    assert listening(private_port) and adb["started"] is True and "ADB mode" in adb["reason"] and "2207:0019" in adb["reason"]
    assert rows(report)["connection.adb-server"]["status"] == "ok" and "started" in rows(report)["connection.adb-server"]["message"]


def test_usb_unreadable_starts_the_server_as_before(capsys, private_port, monkeypatch):
    """macOS / Windows without libusb: USB cannot be read at all, so adb is asked (and the reason said)."""
    monkeypatch.setattr(usb_probe, "scan_usb", lambda backend=None, matrix=None, **_: {
        "devices": None, "how": "pyusb found no backend", "error": "no libusb library found, so USB devices cannot be listed; install it: brew install libusb"})
    _code, out, _ = run_cli(capsys, "--json")
    adb = json.loads(out)["facts"]["adb"]
    assert listening(private_port) and adb["started"] is True and "USB devices could not be read" in adb["reason"]


def test_a_running_server_is_asked_without_any_usb_device(capsys, served_board, usb_tree):
    """Network boards already connected to a running server are listed whatever USB shows."""
    usb_tree([])
    board = served_board("rk3588-2.3.2")
    _code, out, _ = run_cli(capsys, "--json")
    report = json.loads(out)
    assert report["facts"]["adb"]["started"] is False and f"device:{board.serial}" in report["subjects"]


def test_the_cold_doctor_leaves_no_adb_server_behind(private_port):
    """The real command, cold, in its own process, on this machine's real USB (none here)."""
    from rknn_envcheck.probes.usb import rockchip_adb_visible, scan_usb

    if rockchip_adb_visible(scan_usb())[0] is not False:
        pytest.skip("this machine shows a Rockchip board in ADB mode (or cannot read USB): the doctor rightly starts adb")
    proc = subprocess.run([sys.executable, "-m", "rknn_envcheck", "--json"], capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert "Traceback" not in proc.stderr
    assert not listening(private_port)
    assert json.loads(proc.stdout)["facts"]["adb"]["started"] is False
