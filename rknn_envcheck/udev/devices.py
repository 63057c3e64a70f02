"""Rockchip (vendor 2207) USB devices connected now, read from sysfs, and who can open each node.

sysfs and /dev are read under `root` so tests (and a saved copy of another machine's trees) can
stand in for the live system. os.access answers for *this* user; the node's mode, group and
POSIX ACL answer for an ordinary user when we run as root (root can open anything).
"""
from __future__ import annotations

import os
import stat
import struct
from pathlib import Path

ROCKCHIP_VID = "2207"
_ACL_USER, _ACL_GROUP = 0x02, 0x08
_ACL_READ_WRITE = 0x4 | 0x2


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return None


def _name(lookup, ident: int) -> str:
    try:
        return lookup(ident)[0]
    except KeyError:
        return str(ident)


def acl_read_write(node: Path) -> list[str]:
    """Named users/groups with read+write in the node's POSIX ACL (where uaccess puts the seat user)."""
    import grp  # POSIX-only modules: imported here so the package still imports on Windows
    import pwd

    try:
        raw = os.getxattr(node, "system.posix_acl_access")
    except (OSError, AttributeError):
        return []
    found = []
    # Linux xattr ACL: u32 version, then (u16 tag, u16 perm, u32 id) entries, little endian.
    for offset in range(4, len(raw) - 7, 8):
        tag, perm, ident = struct.unpack_from("<HHI", raw, offset)
        if perm & _ACL_READ_WRITE != _ACL_READ_WRITE:
            continue
        if tag == _ACL_USER:
            found.append("user " + _name(pwd.getpwuid, ident))
        elif tag == _ACL_GROUP:
            found.append("group " + _name(grp.getgrgid, ident))
    return found


def _node_facts(node: Path) -> dict:
    import grp
    import pwd

    try:
        st = node.stat()
    except OSError as exc:
        return {"node_exists": False, "node_error": exc.strerror or str(exc)}
    return {
        "node_exists": True,
        "node_mode": oct(stat.S_IMODE(st.st_mode))[2:].zfill(4),
        "node_owner": _name(pwd.getpwuid, st.st_uid),
        "node_group": _name(grp.getgrgid, st.st_gid),
        "node_acl": acl_read_write(node),
        "can_open": os.access(node, os.R_OK | os.W_OK),
    }


# The ADB interface every adbd exposes, whatever the product id: AOSP adb's ADB_CLASS 0xff,
# ADB_SUBCLASS 0x42, ADB_PROTOCOL 0x1 (packages/modules/adb/adb.h, is_adb_interface()).
ADB_INTERFACE = ("ff", "42", "01")


def usb_bus_state(root: str | Path = "/") -> tuple[str, str]:
    """("present" | "absent", how): whether the kernel shows a USB bus at all.

    No <root>/sys/bus/usb/devices, or an empty one, means no USB host controller is visible
    (a container, a CI runner): no board can be on USB here, which is not the same as "could not
    read USB"."""
    base = Path(root) / "sys" / "bus" / "usb" / "devices"
    try:
        entries = os.listdir(base)
    except OSError as exc:
        return "absent", f"{base}: {exc.strerror or exc}"
    if not entries:
        return "absent", f"{base} is empty (no USB host controller visible)"
    return "present", f"{base}: {len(entries)} entries"


def _interfaces(sysdir: Path) -> list[dict]:
    """The interfaces of the active configuration: <dev>/<dev>:<cfg>.<n>/bInterface{Class,SubClass,Protocol}."""
    found = []
    for class_file in sorted(sysdir.glob("*:*/bInterfaceClass")):
        intf = class_file.parent
        found.append({
            "class": (_read(class_file) or "").lower(),
            "subclass": (_read(intf / "bInterfaceSubClass") or "").lower(),
            "protocol": (_read(intf / "bInterfaceProtocol") or "").lower(),
        })
    return found


def has_adb_interface(interfaces) -> bool:
    return any((i.get("class"), i.get("subclass"), i.get("protocol")) == ADB_INTERFACE for i in interfaces or [])


def sysfs_usb_devices(root: str | Path = "/", vendor: str | None = ROCKCHIP_VID) -> list[dict]:
    """USB devices as the kernel lists them under <root>/sys/bus/usb/devices (no libusb needed):
    vid, pid, bus/device numbers, serial, product and the interfaces. `vendor` None = every device."""
    base = Path(root) / "sys" / "bus" / "usb" / "devices"
    devices = []
    for vid_file in sorted(base.glob("*/idVendor")):
        sysdir = vid_file.parent
        vid = (_read(vid_file) or "").lower()
        if vendor is not None and vid != vendor:
            continue
        devices.append({
            "sysfs": str(sysdir),
            "vid": vid,
            "pid": (_read(sysdir / "idProduct") or "").lower() or None,
            "busnum": _read(sysdir / "busnum"),
            "devnum": _read(sysdir / "devnum"),
            "serial": _read(sysdir / "serial"),
            "product": _read(sysdir / "product"),
            "interfaces": _interfaces(sysdir),
            "how": f"read {sysdir}/idVendor, idProduct, busnum, devnum and */bInterfaceClass, SubClass, Protocol",
        })
    return devices


def connected_devices(root: str | Path = "/") -> list[dict]:
    """Every 2207 device under <root>/sys/bus/usb/devices, with its /dev/bus/usb node facts."""
    root = Path(root)
    devices = []
    for device in sysfs_usb_devices(root):
        busnum, devnum = device["busnum"], device["devnum"]
        if busnum and devnum and busnum.isdigit() and devnum.isdigit():
            node = root / "dev" / "bus" / "usb" / f"{int(busnum):03d}" / f"{int(devnum):03d}"
            device["node"] = str(node)
            device.update(_node_facts(node))
        else:
            device.update({"node": None, "node_exists": False, "node_error": "busnum/devnum unreadable in sysfs"})
        devices.append(device)
    return devices


def ordinary_user_access(device: dict, groups: set[str]) -> tuple[bool | None, str]:
    """From the node as it is now: could a non-root user in `groups` (or on the seat) open it?"""
    if not device.get("node_exists"):
        return None, f"device node {device.get('node')} is missing ({device.get('node_error', 'not found')})"
    mode = int(device["node_mode"], 8)
    desc = f"{device['node']} is {device['node_mode']} {device['node_owner']}:{device['node_group']}"
    if mode & 0o006 == 0o006:
        return True, f"{desc}: every user can read and write"
    if mode & 0o060 == 0o060 and device["node_group"] in groups:
        return True, f"{desc}: members of group {device['node_group']} can read and write"
    if device.get("node_acl"):
        return True, f"{desc}, ACL grants {', '.join(device['node_acl'])} (uaccess: the user at the local seat)"
    return False, f"{desc}, no ACL: only root can open it"
