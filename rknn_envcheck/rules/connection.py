"""Connection rules: what needs the host and its boards together (seed §1.7.2 causes 3–6).

Pure, like every rule: judged from facts, so `check --facts` replays them exactly as the doctor
saw them. Subject "connection".
"""
from __future__ import annotations

from rknn_envcheck.report import WARN, Check, Fix

SUBJECT = "connection"


def judge_connection(facts: dict, matrix, target) -> list[Check]:
    host = facts.get("host") or {}
    devices = facts.get("devices") or []
    checks: list[Check] = []
    checks += _ntb_conflict(host, devices)
    checks += _unlisted_adb_usb(facts, host, devices, matrix)
    checks += _macos_one_device(host, devices)
    checks += _adb_platform(host, devices, target)
    return checks


def _adb_boards(devices):
    return [d for d in devices if d.get("transport") == "adb" and d.get("state") == "device"]


def _ntb_conflict(host: dict, devices: list) -> list[Check]:
    proxy = any("npu_transfer_proxy" in p.lower() for p in host.get("processes") or [])
    adb_boards = _adb_boards(devices)
    if not (proxy and adb_boards):
        return []
    return [Check("connection.ntb-conflict", "ADB and NTB", WARN, subject=SUBJECT, component="npu_transfer_proxy",
                  observed=f"npu_transfer_proxy running, {len(adb_boards)} board(s) in ADB mode", how="process list",
                  expected="only one transport in use", source="seed §1.7.2 cause 5; toolkit1.md §4.3 (TS-1.7.5 §8.8: ADB and NTB devices must not be mixed)",
                  message="npu_transfer_proxy is running while boards are used over ADB: the toolkit warns 'it may cause conflict' and init_runtime can fail",
                  fix=Fix("stop npu_transfer_proxy before using ADB boards", ["pkill npu_transfer_proxy"]))]


def _unlisted_adb_usb(facts: dict, host: dict, devices: list, matrix) -> list[Check]:
    """An ADB-mode Rockchip device on USB that the adb server does not list. Only when the
    facts record that the adb server was asked (`adb.listed`), else "not listed" means nothing."""
    adb = facts.get("adb") or {}
    if "listed" not in adb or host.get("usb_error") or "usb" not in host:
        return []
    modes = {str(r.get("pid", "")).lower(): r.get("mode") for r in matrix.usb_ids()}
    adb_usb = [u for u in host.get("usb") or [] if str(u.get("vid", "")).lower() == "2207" and u.get("accessible") is not False
               and (u.get("mode") or modes.get(str(u.get("pid", "")).lower())) == "adb"]
    usb_listed = [d for d in devices if d.get("transport") == "adb" and ":" not in str(d.get("serial", ""))]  # TCP boards are not on USB
    if len(adb_usb) <= len(usb_listed):
        return []
    return [Check("connection.usb.adb", "ADB-mode boards on USB", WARN, subject=SUBJECT, component="adb",
                  observed=f"{len(adb_usb)} ADB-mode Rockchip device(s) on USB, {len(usb_listed)} listed by the adb server",
                  how="pyusb (2207:0006) vs adb devices -l", expected="every ADB-mode board listed",
                  source="seed §1.7.2 cause 3; toolkit1.md §4.2 (2207:0006 = adb gadget)",
                  message="a Rockchip board in ADB mode is on USB but the adb server does not list it (another adb server owns it, or it was started with ADB_USB=0)",
                  fix=Fix("restart your own adb server, then list again", ["adb kill-server && adb start-server", "adb devices -l"]))]


def _macos_one_device(host: dict, devices: list) -> list[Check]:
    boards = [d for d in devices if d.get("state") == "device" and d.get("transport") in ("adb", "ntb")]
    if host.get("os") != "darwin" or len(boards) < 2:
        return []
    return [Check("connection.macos-one-device", "Boards on macOS", WARN, subject=SUBJECT, component="npu_transfer_proxy",
                  observed=f"{len(boards)} boards on a macOS host", how="host.os + the board listing", expected="one board at a time",
                  source="seed §1.7.2 cause 6 (macOS supports one device at a time)",
                  message="RKNN-Toolkit on macOS drives one board at a time; with several attached, init_runtime may pick the wrong one or fail",
                  fix=Fix("detach the other boards (or pass device_id explicitly), then restart npu_transfer_proxy", ["pkill npu_transfer_proxy"]))]


def _adb_platform(host: dict, devices: list, target) -> list[Check]:
    if not target or target[0] != "rknn-toolkit" or not _adb_boards(devices):
        return []
    os_name, arch = host.get("os"), (host.get("arch") or "").lower()
    if not os_name or (os_name == "linux" and arch in ("x86_64", "amd64")):
        return []
    return [Check("connection.adb-platform", "ADB boards with RKNN-Toolkit v1", WARN, subject=SUBJECT, component="rknn-toolkit",
                  observed=f"{os_name} {arch} host, {len(_adb_boards(devices))} board(s) in ADB mode", how="host.os, host.arch + adb listing",
                  expected="ADB boards only from Linux x86_64", source="seed §1.7.2 cause 5; toolkit1.md §4.3 (TS-1.7.5 §8.8: the ADB device can only be used on the Linux x86_64 platform)",
                  message="RKNN-Toolkit v1 uses boards in ADB mode only from Linux x86_64; on this host switch the board to NTB mode",
                  fix=Fix("switch the board to NTB mode (RV1109/RV1126: add usb_ntb_en to /etc/init.d/.usb_config and reboot)",
                          ["adb shell \"echo usb_ntb_en >> /etc/init.d/.usb_config\"", "adb reboot"]))]
