"""Host rules about the machine around Python: Rockchip USB devices (and their permissions) and
processes that interfere with a board.

Pure functions: host facts + matrix → Checks (split out of rules/host.py, issue 13).
"""
from __future__ import annotations

from rknn_envcheck.report import FAIL, OK, SKIPPED, UNKNOWN, Check, Fix
from rknn_envcheck.shellcmd import cmd, udev_commands

def _usb_modes(matrix) -> dict:
    return {str(r.get("pid", "")).lower(): r for r in matrix.usb_ids()}


def check_usb(host: dict, matrix, facts: dict | None = None):
    if host.get("usb_error"):
        yield Check("host.usb", "Rockchip USB devices", UNKNOWN, component="libusb", observed=host["usb_error"], how="pyusb",
                    expected="the USB bus readable", message="USB devices could not be listed (no usable libusb backend)",
                    fix=Fix("install libusb so Rockchip boards on USB can be seen", [cmd("sudo", "apt-get", "install", "libusb-1.0-0")]))
        return
    if "usb" not in host:
        return
    if host.get("usb_bus") == "absent":
        yield Check("host.usb", "Rockchip USB devices", SKIPPED, component="usb", observed="no USB bus",
                    how=(host.get("how") or {}).get("usb", "/sys/bus/usb/devices"),
                    message="this machine shows no USB bus at all (a container or CI runner?): no board can be on USB here")
        return
    rockchip = [u for u in host.get("usb") or [] if str(u.get("vid", "")).lower() == "2207"]
    if not rockchip:
        yield Check("host.usb", "Rockchip USB devices", OK, component="usb", observed="none", how=(host.get("how") or {}).get("usb", "vendor 0x2207"),
                    message="no Rockchip (2207) device on USB")
        return
    modes = _usb_modes(matrix)
    for dev in rockchip:
        pid = str(dev.get("pid", "")).lower()
        row = modes.get(pid) or modes.get("*") or {}
        mode = dev.get("mode") or row.get("mode") or "unknown"
        if dev.get("adb_interface") and mode != "adb":
            mode = f"{mode} + ADB interface"
        where = f"2207:{pid}" + (f" (bus {dev.get('bus')}, address {dev.get('address')})" if dev.get("bus") is not None else "")
        meaning = dev.get("meaning") or row.get("meaning") or "a Rockchip USB device"
        if dev.get("accessible", dev.get("can_open")) is False:
            yield Check(f"host.usb.{pid}", f"USB {where}", FAIL, component="udev", observed=f"{mode}: not accessible to this user",
                        how="pyusb + access(2) on /dev/bus/usb", expected="read/write access", source="TS-1.7.5 §8.6",
                        message=f"{meaning}, but this user may not open it (adb shows such a board as 'no permissions')",
                        fix=Fix("install the Rockchip udev rule (read what it will do first), then replug", udev_commands(facts)))
        else:
            yield Check(f"host.usb.{pid}", f"USB {where}", OK, component="usb", observed=mode, how=dev.get("source") or "pyusb",
                        source=dev.get("meaning_source") or row.get("source", ""),
                        message=meaning)


# Security software (seed §1.7.2 item 7) is a Windows connection matter: rules/connection.py.


def check_processes(host: dict, matrix):
    if "processes" not in host:
        return
    names = [p.lower() for p in host.get("processes") or []]
    if any("npu_transfer_proxy" in n for n in names):
        yield Check("host.process.npu_transfer_proxy", "npu_transfer_proxy", OK, component="npu_transfer_proxy", observed="running",
                    how="process list", source="TS-1.7.5 §7",
                    message="npu_transfer_proxy is running (NTB mode: RK1808 compute sticks); boards in ADB mode must not be used at the same time")
