"""Connection rules judged from facts files through `check --facts` (what a bug report replays):
for every rule a passing, a failing and an unobservable case; Windows and macOS hosts only exist
here as facts. The same rules on live boards: tests/test_connection_live.py."""
from __future__ import annotations

import json
import re

import pytest

from core_helpers import device, facts, run_cli, write_facts

RV1126 = device(serial="1126", chip="RV1126", rknn_server="1.7.5", librknn_runtime="1.7.5", npu_driver="6.4.6.5.351518",
                npu_driver_kind="galcore", mini_driver=False)
RK1808 = dict(RV1126, serial="515e9b401c060c0b", chip="RK1808")
STICK = {"serial": "TB-RK1808S0", "state": "device", "transport": "ntb", "ntb_id": "2bed0cc1", "ntb_kind": "USB_DEVICE",
         "how": {"state": "npu_transfer_proxy devices"}, "probe_error": "ntb: an NTB board has no shell"}
TK1 = {"rknn-toolkit": "1.7.5"}
NTB_LISTED = {"binary": "/usr/bin/npu_transfer_proxy", "how": "/usr/bin/npu_transfer_proxy devices"}


def judge(tmp_path, capsys, data, *extra) -> tuple[int, dict]:
    path = write_facts(tmp_path, data)
    code, out, err = run_cli(capsys, "check", "--facts", str(path), "--json", *extra)
    assert "Traceback" not in err
    report = json.loads(out)
    return code, {c["id"]: c for c in report["checks"] if c["subject"] == "connection"}


def cited(check) -> str:
    """The row's source as a user reads it: title, version, section, URL from matrices/documents.toml."""
    from rknn_envcheck.citations import Registry
    from rknn_envcheck.matrix import load_matrix

    registry = Registry.from_matrix(load_matrix())
    assert registry.unknown_keys(check["source"]) == []
    return registry.text(check["source"])


def argv(check) -> list[list[str]]:
    return [c["argv"] for c in (check["fix"] or {}).get("commands") or []]


def displays(check) -> list[str]:
    return [c["display"] for c in (check["fix"] or {}).get("commands") or []]


# ---------------------------------------------------------------- ADB boards with toolkit v1 off Linux x86_64

def test_adb_board_with_toolkit1_on_windows_fails_with_the_usb_ntb_en_step(tmp_path, capsys):
    code, checks = judge(tmp_path, capsys, facts(TK1, [RV1126], os="windows", arch="AMD64", python_version="3.6.8"))
    row = checks["connection.adb-platform"]
    assert row["status"] == "fail" and code == 1 and "Linux x86_64" in row["message"] and "1126 (RV1126)" in row["message"]
    assert "TS-1.7.5 §8.8 item 5" in row["source"] and "Troubleshooting Guide v1.7.5, §8.8 item 5" in cited(row)
    assert argv(row)[0][:4] == ["adb", "-s", "1126", "shell"] and "usb_ntb_en" in argv(row)[0][4]
    assert argv(row)[1] == ["adb", "-s", "1126", "reboot"]
    assert any("'adb'" not in d and "usb_ntb_en" in d for d in displays(row))  # PowerShell display for a Windows host


def test_adb_board_on_aarch64_linux_and_macos_fails_too(tmp_path, capsys):
    for os_name, arch in (("linux", "aarch64"), ("darwin", "x86_64")):
        _code, checks = judge(tmp_path, capsys, facts(TK1, [RK1808], os=os_name, arch=arch, python_version="3.7.3"))
        assert checks["connection.adb-platform"]["status"] == "fail", os_name
        assert "NTB is on by default on RK1808" in checks["connection.adb-platform"]["fix"]["text"]


def test_adb_board_on_linux_x86_64_passes_and_without_the_host_arch_is_unknown(tmp_path, capsys):
    _code, checks = judge(tmp_path, capsys, facts(TK1, [RV1126], python_version="3.6.9"))
    assert checks["connection.adb-platform"]["status"] == "ok"
    data = facts(TK1, [RV1126], python_version="3.6.9")
    del data["host"]["arch"]
    _code, checks = judge(tmp_path, capsys, data)
    row = checks["connection.adb-platform"]
    assert row["status"] == "unknown" and argv(row)[0][0] == "python3" and "platform.machine()" in argv(row)[0][2]


def test_an_adb_usb_device_counts_without_the_adb_listing(tmp_path, capsys):
    """An RKNPU2-style board recognised by its ADB interface only (product id 0019)."""
    usb = [{"vid": "2207", "pid": "0019", "mode": "adb", "adb_interface": True, "source": "pyusb"}]
    _code, checks = judge(tmp_path, capsys, facts(TK1, [], os="windows", arch="AMD64", usb=usb, python_version="3.6.8"))
    assert checks["connection.adb-platform"]["status"] == "fail" and "2207:0019" in checks["connection.adb-platform"]["observed"]


def test_toolkit2_is_not_judged_by_the_toolkit1_platform_rule(tmp_path, capsys):
    _code, checks = judge(tmp_path, capsys, facts({"rknn-toolkit2": "2.3.2"}, [RV1126], os="windows", arch="AMD64", python_version="3.8.10"))
    assert "connection.adb-platform" not in checks and "connection.adb-ntb" not in checks and "connection.proxy-adb" not in checks


# ---------------------------------------------------------------- npu_transfer_proxy while ADB boards are used

def test_proxy_with_adb_boards_fails_with_the_stop_command_per_os(tmp_path, capsys):
    _code, checks = judge(tmp_path, capsys, facts(TK1, [RV1126], processes=["npu_transfer_proxy"], python_version="3.6.9"))
    row = checks["connection.proxy-adb"]
    assert row["status"] == "fail" and argv(row) == [["pkill", "-x", "npu_transfer_proxy"]]
    assert "1126 (RV1126)" in row["message"]
    _code, checks = judge(tmp_path, capsys, facts(TK1, [RV1126], os="windows", arch="AMD64", processes=["npu_transfer_proxy.exe"], python_version="3.6.8"))
    assert argv(checks["connection.proxy-adb"]) == [["taskkill", "/IM", "npu_transfer_proxy.exe", "/F"]]


def test_proxy_rule_passes_without_the_proxy_and_is_unknown_without_a_process_list(tmp_path, capsys):
    _code, checks = judge(tmp_path, capsys, facts(TK1, [RV1126], processes=["adb"], python_version="3.6.9"))
    assert checks["connection.proxy-adb"]["status"] == "ok"
    data = facts(TK1, [RV1126], python_version="3.6.9")
    del data["host"]["processes"]
    _code, checks = judge(tmp_path, capsys, data)
    row = checks["connection.proxy-adb"]
    assert row["status"] == "unknown" and argv(row) == [["pgrep", "-l", "npu_transfer_proxy"]]


# ---------------------------------------------------------------- ADB and NTB together

def test_adb_and_ntb_together_fail_naming_both_and_how_to_switch(tmp_path, capsys):
    data = facts(TK1, [RV1126, STICK], python_version="3.6.9")
    data["ntb"] = dict(NTB_LISTED, listed=1)
    _code, checks = judge(tmp_path, capsys, data)
    row = checks["connection.adb-ntb"]
    assert row["status"] == "fail" and "TB-RK1808S0" in row["message"] and "1126 (RV1126)" in row["message"]
    assert "stop npu_transfer_proxy" in row["fix"]["text"] and "usb_ntb_en" in row["fix"]["text"]
    assert "§8.8 item 5" in row["source"]


def test_adb_and_ntb_passes_with_no_ntb_device_and_is_unknown_when_neither_listing_nor_usb_was_read(tmp_path, capsys):
    data = facts(TK1, [RV1126], python_version="3.6.9")
    data["ntb"] = dict(NTB_LISTED, listed=0)
    _code, checks = judge(tmp_path, capsys, data)
    assert checks["connection.adb-ntb"]["status"] == "ok"
    data = facts(TK1, [RV1126], python_version="3.6.9")
    del data["host"]["usb"]
    data["host"]["usb_error"] = "no libusb library found"
    _code, checks = judge(tmp_path, capsys, data)
    row = checks["connection.adb-ntb"]
    assert row["status"] == "unknown" and argv(row) == [["/venv/bin/python", "-m", "rknn.bin.list_devices"]]


# ---------------------------------------------------------------- macOS: one device

def test_macos_with_two_ntb_devices_fails_one_passes_unread_is_unknown(tmp_path, capsys):
    two = facts(TK1, [STICK, dict(STICK, serial="TM018083200400203")], os="darwin", arch="x86_64", python_version="3.6.9")
    two["ntb"] = dict(NTB_LISTED, listed=2)
    _code, checks = judge(tmp_path, capsys, two)
    row = checks["connection.macos-ntb"]
    assert row["status"] == "fail" and "2 NTB devices" in row["observed"] and "§8.8 item 6" in row["source"]
    one = facts(TK1, [STICK], os="darwin", arch="x86_64", python_version="3.6.9")
    one["ntb"] = dict(NTB_LISTED, listed=1)
    assert judge(tmp_path, capsys, one)[1]["connection.macos-ntb"]["status"] == "ok"
    unread = facts(TK1, [], os="darwin", arch="x86_64", python_version="3.6.9")
    del unread["host"]["usb"]
    unread["host"]["usb_error"] = "no libusb library found, so USB devices cannot be listed; install it: brew install libusb"
    assert judge(tmp_path, capsys, unread)[1]["connection.macos-ntb"]["status"] == "unknown"


# ---------------------------------------------------------------- Linux NTB access (udev)

STICK_USB = {"vid": "2207", "pid": "0018", "mode": "compute-stick-ntb", "bus": 3, "address": 75, "can_open": False,
             "opened_as": "uid 1000", "can_open_how": "os.access(/dev/bus/usb/003/075, R_OK|W_OK) as uid 1000", "source": "sysfs"}
VENDOR_RULE = [{"path": "/etc/udev/rules.d/91-rk1808-ai-cs.rules", "name": "91-rk1808-ai-cs.rules", "directory": "/etc/udev/rules.d",
                "lines": [{"lineno": 1, "text": 'SUBSYSTEM=="usb", ATTR{idVendor}=="2207", MODE="0666"',
                           "grants": {"MODE": "0666", "GROUP": None, "TAG": None, "OWNER": None}, "product": None, "vendor_op": "=="}],
                "overridden_by": None, "masked": False}]


def test_ntb_stick_without_a_udev_rule_fails_with_our_install_line(tmp_path, capsys):
    data = facts(TK1, [], usb=[STICK_USB], udev=[], python_version="3.6.9")
    data["tool"] = {"argv": ["/home/u/.local/bin/rknn-envcheck"]}
    _code, checks = judge(tmp_path, capsys, data)
    row = checks["connection.ntb-access"]
    assert row["status"] == "fail" and "§8.8 item 4" in row["source"]
    assert argv(row) == [["/home/u/.local/bin/rknn-envcheck", "udev", "--install", "--dry-run"],
                         ["sudo", "/home/u/.local/bin/rknn-envcheck", "udev", "--install"]]


def test_ntb_stick_with_the_vendor_rule_or_open_access_passes_and_unread_rules_are_unknown(tmp_path, capsys):
    granted = dict(STICK_USB, can_open=None)
    _code, checks = judge(tmp_path, capsys, facts(TK1, [], usb=[granted], udev=VENDOR_RULE, python_version="3.6.9"))
    assert checks["connection.ntb-access"]["status"] == "ok" and "91-rk1808-ai-cs.rules:1" in checks["connection.ntb-access"]["message"]
    opened = dict(STICK_USB, can_open=True)
    _code, checks = judge(tmp_path, capsys, facts(TK1, [], usb=[opened], udev=[], python_version="3.6.9"))
    assert checks["connection.ntb-access"]["status"] == "ok"
    _code, checks = judge(tmp_path, capsys, facts(TK1, [], usb=[STICK_USB], python_version="3.6.9"))  # no "udev" key
    row = checks["connection.ntb-access"]
    assert row["status"] == "unknown" and argv(row) == [["rknn-envcheck", "udev"]]


def test_root_opening_the_node_is_not_proof_for_ordinary_users(tmp_path, capsys):
    as_root = dict(STICK_USB, can_open=True, opened_as="root")
    _code, checks = judge(tmp_path, capsys, facts(TK1, [], usb=[as_root], udev=[], python_version="3.6.9"))
    assert checks["connection.ntb-access"]["status"] == "fail"


# ---------------------------------------------------------------- Windows security software

def test_windows_security_software_warns_with_its_source(tmp_path, capsys):
    found = [{"name": "360Tray.exe", "product": "360 安全卫士 (360 Total Security)", "pid": 4242}]
    _code, checks = judge(tmp_path, capsys, facts(TK1, [RV1126], os="windows", arch="AMD64", processes=["360Tray.exe"],
                                                  security_software=found, python_version="3.6.8"))
    row = checks["connection.security-software"]
    assert row["status"] == "warn" and "360Tray.exe" in row["observed"] and "§8.8 item 7" in row["source"]


def test_windows_security_software_passes_when_none_runs_and_is_unknown_without_processes(tmp_path, capsys):
    _code, checks = judge(tmp_path, capsys, facts(TK1, [RV1126], os="windows", arch="AMD64", processes=[], python_version="3.6.8"))
    assert checks["connection.security-software"]["status"] == "ok"
    data = facts(TK1, [RV1126], os="windows", arch="AMD64", python_version="3.6.8")
    del data["host"]["processes"]
    _code, checks = judge(tmp_path, capsys, data)
    assert checks["connection.security-software"]["status"] == "unknown" and argv(checks["connection.security-software"]) == [["tasklist"]]
    _code, checks = judge(tmp_path, capsys, facts(TK1, [RV1126], processes=["360Tray.exe"], security_software=[{"name": "360Tray.exe"}], python_version="3.6.9"))
    assert "connection.security-software" not in checks  # the vendor's statement is about Windows


# ---------------------------------------------------------------- hosts where the vendor's proxy does not run

@pytest.mark.parametrize("compatible, status", [(["raspberrypi,4-model-b", "brcm,bcm2711"], "fail"),
                                                (["rockchip,rk3328-roc-cc", "rockchip,rk3328"], "fail"),
                                                (["rockchip,rk3399pro-toybrick-prod", "rockchip,rk3399pro"], "ok"),
                                                (None, "unknown")])
def test_proxy_on_aarch64_linux_needs_an_rk3399_class_host(tmp_path, capsys, compatible, status):
    data = facts({"rknn-toolkit-lite": "1.7.5"}, [], os="linux", arch="aarch64", processes=["npu_transfer_proxy"], python_version="3.7.3")
    if compatible is not None:
        data["host"]["device_tree_compatible"] = compatible
    _code, checks = judge(tmp_path, capsys, data)
    row = checks["connection.proxy-host"]
    assert row["status"] == status and "TK#2" in row["source"] and re.search(r"rknn-toolkit/issues/2\b", cited(row))
    if status == "unknown":
        assert argv(row) == [["cat", "/proc/device-tree/compatible"]]


def test_proxy_on_macos_after_the_vendor_dropped_it_warns(tmp_path, capsys):
    data = facts(TK1, [STICK], os="darwin", arch="x86_64", processes=["npu_transfer_proxy"], python_version="3.6.9")
    _code, checks = judge(tmp_path, capsys, data)
    assert checks["connection.proxy-host"]["status"] == "warn" and "d1c2a82" in checks["connection.proxy-host"]["source"]
    older = facts({"rknn-toolkit": "1.6.0"}, [STICK], os="darwin", arch="x86_64", processes=["npu_transfer_proxy"], python_version="3.6.9")
    assert "connection.proxy-host" not in judge(tmp_path, capsys, older)[1]


# ---------------------------------------------------------------- the adb listing, replayed

def test_adb_listing_rows_come_from_the_recorded_listing(tmp_path, capsys):
    data = facts({}, [], python_version="3.10.12")
    data["adb"] = {"endpoint": "127.0.0.1:5037", "endpoint_how": "default", "started": False, "reason": "already running", "listed": 0}
    _code, checks = judge(tmp_path, capsys, data)
    assert checks["connection.adb-server"]["status"] == "ok" and checks["connection.boards"]["status"] == "ok"
    data["adb"] = {"endpoint": "127.0.0.1:5037", "error": "no adb binary was found"}
    _code, checks = judge(tmp_path, capsys, data)
    assert checks["connection.adb-server"]["status"] == "unknown" and argv(checks["connection.adb-server"])[0] == ["adb", "-P", "5037", "start-server"]
    data["adb"] = {"endpoint": "127.0.0.1:5037", "started": False, "reason": "no Rockchip USB device in ADB mode; adb server not started (no USB bus)"}
    _code, checks = judge(tmp_path, capsys, data)
    assert checks["connection.adb-server"]["status"] == "skipped" and "adb server not started" in checks["connection.adb-server"]["message"]
    data["adb"] = {"endpoint": "127.0.0.1:5037", "listed": 1, "wanted": ["9a8b7c6d"]}
    _code, checks = judge(tmp_path, capsys, data)
    assert checks["connection.board"]["status"] == "fail" and "9a8b7c6d" in checks["connection.board"]["message"]


def test_adb_usb_device_not_listed_only_when_adb_was_asked(tmp_path, capsys):
    data = facts({}, [dict(RV1126, serial="127.0.0.1:5555")], usb=[{"vid": "2207", "pid": "0006", "mode": "adb", "can_open": True}])
    assert "connection.usb.adb" not in judge(tmp_path, capsys, data)[1]
    data["adb"] = {"endpoint": "127.0.0.1:5037", "listed": 1}
    assert judge(tmp_path, capsys, data)[1]["connection.usb.adb"]["status"] == "warn"
    data["devices"].append(dict(RV1126, serial="515e9b401c060c0b"))
    assert "connection.usb.adb" not in judge(tmp_path, capsys, data)[1]


def test_no_usb_bus_and_no_board_leaves_nothing_unknown(tmp_path, capsys):
    """A container or CI runner: the USB row and the connection rows are skipped, none unknown."""
    data = facts(TK1, [], usb=[], usb_bus="absent", python_version="3.6.9")
    data["host"]["how"] = {"usb": "/sys/bus/usb/devices: No such file or directory"}
    data["adb"] = {"endpoint": "127.0.0.1:5037", "started": False,
                   "reason": "no Rockchip USB device in ADB mode; adb server not started (no USB bus visible)"}
    data["ntb"] = {"binary": None, "how": "no npu_transfer_proxy on PATH (shutil.which)"}
    path = write_facts(tmp_path, data)
    _code, out, _err = run_cli(capsys, "check", "--facts", str(path), "--json")
    rows = {c["id"]: c["status"] for c in json.loads(out)["checks"] if c["id"].startswith(("connection.", "host.usb"))}
    assert rows == {"host.usb": "skipped", "connection.adb-server": "skipped"}
