"""Connection rules about NTB devices (RK1808 / RV1109 / RV1126 boards in NTB mode, TB-RK1808
compute sticks) and npu_transfer_proxy: ADB and NTB mixed, macOS with several NTB devices, Linux
USB access through a udev rule, and hosts where the vendor's proxy does not run. Pure, from facts.
"""
from __future__ import annotations

from rknn_envcheck.report import FAIL, OK, UNKNOWN, WARN, Check, Fix
from rknn_envcheck.rules import connection_sources as src
from rknn_envcheck.rules.connection import (PROXY, SUBJECT, _names, _ntb_switch_fix, adb_boards, is_ntb_usb, ntb_boards,
                                            proxy_running, stop_proxy_commands, toolkit_v1, usb_devices)
from rknn_envcheck.shellcmd import cmd, tool_argv, udev_commands
from rknn_envcheck.versions import try_parse

# The vendor's udev rule grants MODE="0666" (toolkit1.md §4.1); uaccess or a group grant the seat user / members.
_WORLD_RW = 0o006


def _check(id_, title, status, component, **fields) -> Check:
    return Check(id_, title, status, subject=SUBJECT, component=component, **fields)


def ntb_view(facts: dict, host: dict) -> tuple[int | None, str, str]:
    """(how many NTB devices, who they are, how that was seen); None when neither the proxy's
    listing nor USB was observed."""
    devices = facts.get("devices") or []
    listed = ntb_boards(devices)
    usb = usb_devices(host)
    on_usb = [u for u in usb or [] if is_ntb_usb(u)]
    ntb = facts.get("ntb") or {}
    if "listed" not in ntb and usb is None:
        return None, "", ""
    if len(listed) >= len(on_usb):
        return len(listed), _names(listed), ntb.get("how", "npu_transfer_proxy devices")
    return len(on_usb), ", ".join(f"2207:{u.get('pid')}" + (f" {u['serial']}" if u.get("serial") else "") for u in on_usb), "host.usb (NTB product ids)"


def judge_ntb_rules(facts: dict, host: dict, devices: list, target, matrix=None) -> list[Check]:
    return (_mixed(facts, host, devices, target, matrix) + _macos_several(facts, host, target) + _linux_access(facts, host)
            + _proxy_host(facts, host, target))


def _python(host: dict) -> str:
    return (host.get("python") or {}).get("executable") or "python3"


def _mixed(facts: dict, host: dict, devices: list, target, matrix) -> list[Check]:
    """ADB and NTB devices together with toolkit v1: one kind at a time (TS-1.7.5 §8.8 item 5)."""
    boards = adb_boards(devices)
    if not toolkit_v1(target) or not boards:
        return []
    title = "ADB and NTB devices together"
    count, who, how = ntb_view(facts, host)
    if count is None:
        return [_check("connection.adb-ntb", title, UNKNOWN, PROXY, observed=f"ADB boards: {_names(boards)}; NTB devices: not observed",
                       how="no npu_transfer_proxy listing and no USB facts", expected="only one kind of device in use",
                       source=src.TS_8_8_ITEM_5_MIXED, message="ADB boards are connected and whether NTB devices are too could not be seen",
                       fix=Fix("list both kinds with the toolkit's own command (toolkit >= 1.6.0)", [cmd(_python(host), "-m", "rknn.bin.list_devices")]))]
    if count == 0:
        return [_check("connection.adb-ntb", title, OK, PROXY, observed=f"ADB boards: {_names(boards)}; no NTB device", how=how,
                       source=src.TS_8_8_ITEM_5_MIXED, message="only ADB boards are connected: one kind of device, as toolkit v1 needs")]
    switch = [_ntb_switch_fix(b, matrix) for b in boards]
    return [_check("connection.adb-ntb", title, FAIL, PROXY, observed=f"ADB boards: {_names(boards)}; NTB devices: {who}", how=f"adb listing + {how}",
                   expected="only one kind of device in use at a time", source=src.TS_8_8_ITEM_5_MIXED,
                   message=f"RKNN-Toolkit v1 uses one kind of device at a time: while npu_transfer_proxy serves the NTB device(s) {who}, "
                           f"the ADB board(s) {_names(boards)} cannot be used (the toolkit refuses: 'Some device(s) are using adb forward, "
                           "start NTP will fail'), and while the ADB boards are used the proxy must be stopped, so the NTB devices cannot",
                   fix=Fix(f"to use the ADB board(s): stop npu_transfer_proxy (commands below); to use the NTB device(s): unplug the ADB "
                           f"board(s), or switch them to NTB: {'; '.join(t for t, _ in switch)}", stop_proxy_commands(host.get("os"))))]


def _macos_several(facts: dict, host: dict, target) -> list[Check]:
    """TS-1.7.5 §8.8 item 6: on macOS only one device at a time."""
    if host.get("os") != "darwin":
        return []
    title = "NTB devices on macOS"
    count, who, how = ntb_view(facts, host)
    if count is None:
        if not toolkit_v1(target):
            return []
        return [_check("connection.macos-ntb", title, UNKNOWN, PROXY, observed="NTB devices not observed",
                       how="no npu_transfer_proxy listing and no USB facts", expected="at most one device", source=src.TS_8_8_ITEM_6,
                       message="RKNN-Toolkit v1 on macOS uses one device at a time, and the NTB devices could not be listed",
                       fix=Fix("list the NTB devices", [cmd(_python(host), "-m", "rknn.bin.list_devices")]))]
    if count == 0:
        return []
    if count == 1:
        return [_check("connection.macos-ntb", title, OK, PROXY, observed=who, how=how, source=src.TS_8_8_ITEM_6,
                       message="one NTB device on macOS, as the toolkit needs")]
    return [_check("connection.macos-ntb", title, FAIL, PROXY, observed=f"{count} NTB devices: {who}", how=how, expected="one device at a time",
                   source=src.TS_8_8_ITEM_6,
                   message=f"RKNN-Toolkit v1 on macOS uses only one device at a time; with {count} attached the toolkit reports "
                           "'More than 1 device detected to use ntb' or talks to the wrong one",
                   fix=Fix("unplug the other devices; to switch to another device, stop npu_transfer_proxy first", stop_proxy_commands("darwin")))]


def _udev_grant(host: dict, pid: str) -> str | None:
    """The active udev line that gives an ordinary user read+write on 2207:pid, or None."""
    for entry in host.get("udev") or []:
        if entry.get("overridden_by") or entry.get("masked"):
            continue
        for line in entry.get("lines") or []:
            if line.get("error") or line.get("vendor_op") not in ("==", None):
                continue
            product = (line.get("product") or "").lower()
            if product and product not in (pid, "*"):
                continue
            grants = line.get("grants") or {}
            mode, tag, group = grants.get("MODE"), grants.get("TAG") or "", grants.get("GROUP")
            try:
                world = mode is not None and int(mode, 8) & _WORLD_RW == _WORLD_RW
            except ValueError:
                world = False
            if world or "uaccess" in tag or group:
                what = f"MODE={mode}" if world else ("TAG uaccess" if "uaccess" in tag else f"GROUP={group}")
                return f"{entry.get('path')}:{line.get('lineno')} ({what})"
    return None


def _linux_access(facts: dict, host: dict) -> list[Check]:
    """TS-1.7.5 §8.8 item 4: a compute stick / NTB board on Linux needs the udev rule for USB access."""
    if host.get("os") != "linux":
        return []
    ntb_usb = [u for u in usb_devices(host) or [] if is_ntb_usb(u)]
    checks = []
    for dev in ntb_usb:
        pid = str(dev.get("pid") or "").lower()
        title = f"USB access to NTB device 2207:{pid}"
        label = f"2207:{pid}" + (f" (bus {dev.get('bus')}, address {dev.get('address')})" if dev.get("bus") is not None else "")
        as_user = dev.get("can_open") is True and dev.get("opened_as") not in (None, "root")
        grant = _udev_grant(host, pid)
        common = dict(expected="read+write for the user running the toolkit (udev rule 91-rk1808-ai-cs.rules or ours)", source=src.TS_8_8_ITEM_4)
        if as_user:
            checks.append(_check("connection.ntb-access", title, OK, "udev", observed=f"{label}: {dev.get('can_open_how')}",
                                 how=dev.get("can_open_how", "os.access"), message=f"this user can open the NTB device {label}", **common))
        elif grant:
            checks.append(_check("connection.ntb-access", title, OK if dev.get("can_open") is not False else WARN, "udev",
                                 observed=f"{label}; rule {grant}", how="host.udev (rules files mentioning 2207)",
                                 message=f"udev rule {grant} grants access to {label}" + (
                                     "" if dev.get("can_open") is not False else ", but this user cannot open it now: reload the rules and replug"),
                                 fix=None if dev.get("can_open") is not False else Fix("reload the udev rules, then replug the device",
                                                                                     [cmd("sudo", "udevadm", "control", "--reload-rules"), cmd("sudo", "udevadm", "trigger")]),
                                 **common))
        elif "udev" not in host:
            checks.append(_check("connection.ntb-access", title, UNKNOWN, "udev", observed=label, how="the udev rules were not read",
                                 message=f"whether a udev rule gives users access to {label} was not observed",
                                 fix=Fix("check the udev rules", [cmd(*tool_argv(facts), "udev")]), **common))
        else:
            checks.append(_check("connection.ntb-access", title, FAIL, "udev", observed=f"{label}: no udev rule grants access; {dev.get('can_open_how', '')}",
                                 how="host.udev (rules files mentioning 2207) + os.access on the device node",
                                 message=f"no udev rule lets an ordinary user open the NTB device {label}: npu_transfer_proxy cannot reach it "
                                         "and init_runtime fails with RKNN_ERR_DEVICE_UNAVAILABLE (it works only under sudo)",
                                 fix=Fix("read what the rule will do, install it, then replug the device", udev_commands(facts)), **common))
    return checks


def _compatible(host: dict) -> list[str] | None:
    value = host.get("device_tree_compatible")
    if value is None:
        return None
    if isinstance(value, str):
        value = [v for v in value.replace("\x00", "\n").split("\n") if v]
    return [str(v).lower() for v in value]


def _proxy_host(facts: dict, host: dict, target) -> list[Check]:
    """npu_transfer_proxy on a host where the vendor's proxy does not work."""
    running = proxy_running(host)
    count, who, _how = ntb_view(facts, host)
    if not running and not count:
        return []
    title = "npu_transfer_proxy on this host"
    what = f"{PROXY} running" if running else f"NTB device(s) {who} (served by {PROXY})"
    os_name, arch = host.get("os"), (host.get("arch") or "").lower()
    if os_name == "linux" and arch in ("aarch64", "arm64"):
        compatible = _compatible(host)
        if compatible is None:
            return [_check("connection.proxy-host", title, UNKNOWN, PROXY, observed=f"{what}; aarch64 Linux host, board type not observed",
                           how="host.device_tree_compatible missing", expected="an RK3399/RK3399Pro host", source=src.PROXY_AARCH64,
                           message="the vendor's aarch64 npu_transfer_proxy runs only on RK3399/RK3399Pro hosts, and this host's device tree was not read",
                           fix=Fix("read the host's board type", [cmd("cat", "/proc/device-tree/compatible")]))]
        if any(c.startswith("rockchip,rk3399") for c in compatible):
            return [_check("connection.proxy-host", title, OK, PROXY, observed=f"{what}; host {', '.join(compatible)}",
                           how="/proc/device-tree/compatible", source=src.PROXY_AARCH64,
                           message="an RK3399-class host, where the vendor's aarch64 npu_transfer_proxy runs")]
        return [_check("connection.proxy-host", title, FAIL, PROXY, observed=f"{what}; host {', '.join(compatible) or 'no compatible string'}",
                       how="/proc/device-tree/compatible", expected="an RK3399/RK3399Pro host (or a Linux x86_64, Windows or macOS PC)",
                       source=src.PROXY_AARCH64,
                       message="the vendor's aarch64 npu_transfer_proxy assumes an RK3399/RK3399Pro host; on this board it does not find NTB "
                               "devices ('npu_transfer_proxy status: zombie', 'Cannot connect to proxy')",
                       fix=Fix("use the NTB device from a Linux x86_64 PC (or an RK3399Pro host); on this host use boards over ADB with the "
                               "toolkit-lite on the board itself", stop_proxy_commands("linux") if running else []))]
    if os_name == "darwin" and toolkit_v1(target):
        version = try_parse(str(target[1]))
        if version is not None and version >= try_parse("1.6.1"):
            return [_check("connection.proxy-host", title, WARN, PROXY, observed=f"{what}; macOS host, {target[0]} {target[1]}",
                           how="host.os + the installed toolkit", expected="a proxy from the same toolkit release", source=src.PROXY_MACOS,
                           message="from 1.6.1 the vendor no longer ships the macOS npu_transfer_proxy in platform-tools (its quick start still "
                                   "points there): a proxy started by hand is an older build than the toolkit's client; if init_runtime fails, "
                                   "stop it and let the toolkit start its own",
                           fix=Fix("stop the hand-started proxy; the toolkit starts its own when needed", stop_proxy_commands("darwin")))]
    return []
