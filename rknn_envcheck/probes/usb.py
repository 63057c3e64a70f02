"""Rockchip USB devices (vendor 0x2207): product id, interfaces, what that mode means, who may open it.

On Linux the kernel's own list is read from sysfs (udev/devices.py's reader, the one `rknn-envcheck
udev` uses), so no libusb is needed; a machine with no USB bus at all (a container, CI) is a fact
(`usb_bus: "absent"`), not an error. Elsewhere (macOS, Windows), or when a test hands in a backend,
pyusb lists the devices and their interfaces; no libusb backend there is a fact to report (with how
to install libusb), not a crash. pyusb is imported inside the function, never at CLI start-up.

A board in ADB mode is recognised by its ADB interface (class ff, subclass 42, protocol 01) as
well as by the product ids of matrices/usb.toml: RKNPU2 boards' adbd gadgets use other ids.
"""
from __future__ import annotations

import os
import sys

ROCKCHIP_VID = 0x2207

# Used only when the matrix has no [[usb_id]] rows. Source: toolkit1.md §4.2 (board gadget script
# start_usb.sh: 0x0006 adb, 0x1808 ntb; compute stick quick start: 2207:0018).
FALLBACK_MODES = {
    "0006": {"mode": "adb", "meaning": "board in ADB mode (start_usb.sh gadget, idProduct 0x0006)", "source": "NPU drivers/common/usr/bin/start_usb.sh"},
    "1808": {"mode": "ntb", "meaning": "board in NTB mode (start_usb.sh gadget, idProduct 0x1808)", "source": "NPU drivers/common/usr/bin/start_usb.sh"},
    "0018": {"mode": "ntb", "meaning": "TB-RK1808 compute stick (NTB, 2207:0018 per the quick start guide)", "source": "NPU drivers/common/usr/bin/start_usb.sh"},
}

LIBUSB_INSTALL = {
    "linux": "sudo apt-get install libusb-1.0-0   (Fedora: sudo dnf install libusb1)",
    "darwin": "brew install libusb",
    "windows": "install the WinUSB driver for the board with Zadig (platform-tools/drivers_installer/windows-x86_64/zadig-2.4.exe), "
               "and put libusb-1.0.dll next to python.exe or on PATH",
}

# Shared-object names to try with dlopen: the soname each backend's library ships under.
_SONAMES = {
    "usb-1.0": ("libusb-1.0.so.0", "libusb-1.0.so"),
    "libusb-1.0": ("libusb-1.0.so.0", "libusb-1.0.so"),
    "usb-0.1": ("libusb-0.1.so.4",),
    "usb": ("libusb-0.1.so.4", "libusb.so"),
    "libusb0": (),
    "libusb": (),
    "openusb": ("libopenusb.so.0", "libopenusb.so"),
}


def _os_name() -> str:
    if sys.platform.startswith("win"):
        return "windows"
    return "darwin" if sys.platform == "darwin" else "linux"


def _linux_find_library(candidate: str):
    """dlopen the soname directly: ctypes.util.find_library spawns ldconfig, gcc and ld for every
    miss (about 90 ms for pyusb's three backends on a machine without libusb). dlopen searches
    LD_LIBRARY_PATH, the ld.so cache and the default directories, which is where CDLL looks too."""
    import ctypes

    for soname in _SONAMES.get(candidate, (f"lib{candidate}.so",)):
        try:
            ctypes.CDLL(soname)
        except OSError:
            continue
        return soname
    return None


def find_backend():
    """(backend, description) of the first libusb backend pyusb can load, or (None, reason)."""
    import usb.backend.libusb0
    import usb.backend.libusb1
    import usb.backend.openusb

    finder = _linux_find_library if sys.platform.startswith("linux") else None
    tried = []
    for module, label in ((usb.backend.libusb1, "libusb-1.0"), (usb.backend.openusb, "OpenUSB"), (usb.backend.libusb0, "libusb-0.1")):
        backend = module.get_backend(find_library=finder)
        if backend is not None:
            return backend, f"pyusb {module.__name__} backend ({label})"
        tried.append(label)
    return None, f"pyusb found no backend (tried {', '.join(tried)})"


def load_modes(matrix=None) -> tuple[dict[str, dict], str]:
    """pid (4 lower-case hex digits) -> row, from the matrix's [[usb_id]] rows, else FALLBACK_MODES."""
    try:
        if callable(matrix):  # a loader, so the matrix is read only when a device needs its mode table
            matrix = matrix()
        if matrix is None:
            from rknn_envcheck.matrix import load_matrix

            matrix = load_matrix()
        rows = [r for r in matrix.usb_ids() if str(r.get("vid", "")).lower() in ("2207", "0x2207")]
    except Exception as exc:  # a broken matrix must not hide the devices; say where the table came from
        return dict(FALLBACK_MODES), f"built-in table (matrix usb_id rows unavailable: {type(exc).__name__}: {exc})"
    if not rows:
        return dict(FALLBACK_MODES), "built-in table (the matrix has no [[usb_id]] rows): 0006 adb, 1808 ntb, 0018 compute stick, per the board's start_usb.sh (rockchip-linux/rknpu) and the RKNN-Toolkit Quick Start guides"
    modes = {}
    for row in rows:
        pid = str(row["pid"]).lower().removeprefix("0x")
        pid = pid if pid == "*" else pid.zfill(4)  # "*" = any other Rockchip product id
        modes[pid] = {"mode": row.get("mode"), "meaning": row.get("meaning"), "source": row.get("source", "")}
    return modes, f"matrix [[usb_id]] rows ({len(modes)} product ids)"


def node_access(bus: int | None, address: int | None, dev_root: str = "/dev/bus/usb") -> tuple[bool | None, str]:
    """May this user open the device node? (None, why) when that cannot be told."""
    if _os_name() != "linux":
        return None, "not checked: device nodes are a Linux notion (Windows needs the WinUSB driver via Zadig; macOS needs no permission)"
    if bus is None or address is None:
        return None, "the backend reported no bus/address"
    node = os.path.join(dev_root, f"{bus:03d}", f"{address:03d}")
    if not os.path.exists(node):
        return None, f"{node} does not exist (the device was unplugged, or /dev is not the host's)"
    ok = os.access(node, os.R_OK | os.W_OK)
    who = "root" if hasattr(os, "geteuid") and os.geteuid() == 0 else f"uid {os.getuid()}"
    note = " (root opens any node; an ordinary user needs a udev rule such as 91-rk1808-ai-cs.rules)" if who == "root" else ""
    return ok, f"os.access({node}, R_OK|W_OK) as {who}{note}"


def mode_of(pid: str, interfaces, modes: dict[str, dict]) -> tuple[str, str, str, bool]:
    """(mode, meaning, source, known_pid) from the ADB interface first, then the product id table."""
    from rknn_envcheck.udev.devices import has_adb_interface

    row = modes.get(pid)
    known = row is not None
    if has_adb_interface(interfaces) and (row is None or row.get("mode") in (None, "unknown", "unknown-rockchip")):
        return ("adb", f"board running adbd: an ADB interface (class ff, subclass 42, protocol 01) on Rockchip product id {pid}",
                ADB_INTERFACE_SOURCE, known)
    row = row or modes.get("*")
    if row is None:
        return ("unknown", f"Rockchip product id {pid} is not in the table: not an ADB/NTB RKNN board mode "
                           "(a loader/maskrom or another gadget mode?)", "", known)
    return row.get("mode") or "unknown", row.get("meaning") or "", row.get("source", ""), known


ADB_INTERFACE_SOURCE = "AOSP-adb adb.h (ADB_CLASS 0xff, ADB_SUBCLASS 0x42, ADB_PROTOCOL 0x1; is_adb_interface)"


def _opened_as() -> str | None:
    if not hasattr(os, "geteuid"):
        return None
    return "root" if os.geteuid() == 0 else f"uid {os.geteuid()}"


def device_tree_compatible(root: str = "/") -> tuple[list[str] | None, str]:
    """The host's own /proc/device-tree/compatible (NUL-separated, most specific first): which
    board an aarch64 host is, for the npu_transfer_proxy rule. [] on machines without a device
    tree (x86 PCs); None when it exists but cannot be read."""
    path = os.path.join(root, "proc/device-tree/compatible")
    try:
        with open(path, "rb") as handle:
            raw = handle.read(4096)
    except FileNotFoundError:
        return [], f"{path}: none (not a device-tree machine)"
    except OSError as exc:
        return None, f"{path}: {exc.strerror or exc}"
    return [part.decode("ascii", "replace") for part in raw.split(b"\0") if part], f"read {path}"


def _describe(vid: str, pid: str, bus, address, serial, interfaces, modes: dict[str, dict], dev_root: str, source: str) -> dict:
    from rknn_envcheck.udev.devices import has_adb_interface

    mode, meaning, meaning_source, known = mode_of(pid, interfaces, modes)
    can_open, access_how = node_access(bus, address, dev_root)
    described = {
        "vid": vid,
        "pid": pid,
        "bus": bus,
        "address": address,
        "mode": mode,
        "meaning": meaning,
        "meaning_source": meaning_source,
        "known_pid": known,
        "adb_interface": has_adb_interface(interfaces) if interfaces is not None else None,
        "interfaces": interfaces,
        "serial": serial,
        "can_open": can_open,
        "can_open_how": access_how,
        "opened_as": _opened_as() if can_open is not None else None,
        "source": source,
    }
    if interfaces is None:  # not read (a backend without configuration descriptors): left out, not "none"
        del described["interfaces"]
    return described


def _int_or_none(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def scan_sysfs(root: str = "/", matrix=None, dev_root: str | None = None) -> dict:
    """The Linux path: the kernel's USB list under <root>/sys/bus/usb/devices, no libusb."""
    from rknn_envcheck.udev.devices import sysfs_usb_devices, usb_bus_state

    compatible, compatible_how = device_tree_compatible(root)
    host_tree = {"device_tree_compatible": compatible, "device_tree_how": compatible_how}
    state, bus_how = usb_bus_state(root)
    if state == "absent":
        return {"devices": [], "usb_bus": "absent", "error": None, "how": bus_how, **host_tree}
    found = sysfs_usb_devices(root)
    base = os.path.join(root, "sys/bus/usb/devices")
    how = f"{base}/*/idVendor, idProduct, busnum, devnum, serial and */bInterfaceClass, SubClass, Protocol"
    if not found:
        return {"devices": [], "usb_bus": "present", "error": None, "how": f"{how}: no device of vendor 2207", **host_tree}
    modes, modes_from = load_modes(matrix)
    dev_root = dev_root or os.path.join(root, "dev/bus/usb")
    devices = [_describe(d["vid"], d["pid"] or "", _int_or_none(d["busnum"]), _int_or_none(d["devnum"]), d["serial"],
                         d["interfaces"], modes, dev_root, "sysfs") for d in found]
    return {"devices": devices, "usb_bus": "present", "error": None, "how": how, "modes_from": modes_from, **host_tree}


def _pyusb_interfaces(dev) -> list[dict] | None:
    """Interface class/subclass/protocol of every configuration, from the descriptors (no open)."""
    try:
        return [{"class": f"{intf.bInterfaceClass:02x}", "subclass": f"{intf.bInterfaceSubClass:02x}", "protocol": f"{intf.bInterfaceProtocol:02x}"}
                for cfg in dev for intf in cfg]
    except Exception:  # noqa: BLE001 - a backend that cannot read configuration descriptors: mode by product id only
        return None


def _pyusb_serial(dev) -> str | None:
    try:
        import usb.util

        return usb.util.get_string(dev, dev.iSerialNumber) if dev.iSerialNumber else None
    except Exception:  # noqa: BLE001 - reading a string descriptor needs the device opened (permissions)
        return None


def _uses_sysfs() -> bool:
    return sys.platform.startswith("linux")


def scan_usb(backend=None, matrix=None, dev_root: str = "/dev/bus/usb", sysfs_root: str | None = None) -> dict:
    """{'devices': [...] or None, 'usb_bus': 'present'|'absent', 'error': str or None, 'how': str, 'modes_from': str}.

    `backend`: a pyusb backend instance (tests pass a fake one); None = sysfs on Linux, else find libusb.
    `sysfs_root`: read sysfs under this directory instead of / (tests, saved trees).
    """
    if backend is None and (sysfs_root is not None or _uses_sysfs()):
        return scan_sysfs(sysfs_root or "/", matrix, None if sysfs_root else dev_root)
    try:
        import usb.core
    except ImportError:
        return {"devices": None, "how": "import usb (pyusb)",
                "error": f"pyusb is not installed in {sys.executable}: {sys.executable} -m pip install pyusb"}
    if backend is None:
        backend, how = find_backend()
        if backend is None:
            os_name = _os_name()
            return {"devices": None, "how": how,
                    "error": f"no libusb library found, so USB devices cannot be listed; install it: {LIBUSB_INSTALL[os_name]}"}
    else:
        how = f"pyusb with the given backend {type(backend).__name__}"
    try:
        found = list(usb.core.find(find_all=True, idVendor=ROCKCHIP_VID, backend=backend))
    except usb.core.USBError as exc:
        return {"devices": None, "how": how, "error": f"listing USB devices failed: {exc}"}
    how = f"{how}: usb.core.find(idVendor=0x2207), configuration descriptors for the interfaces"
    if not found:
        return {"devices": [], "usb_bus": "present", "error": None, "how": how}
    modes, modes_from = load_modes(matrix)
    devices = [_describe(f"{int(dev.idVendor):04x}", f"{int(dev.idProduct):04x}", getattr(dev, "bus", None), getattr(dev, "address", None),
                         _pyusb_serial(dev), _pyusb_interfaces(dev), modes, dev_root, "pyusb") for dev in found]
    return {"devices": devices, "usb_bus": "present", "error": None, "how": how, "modes_from": modes_from}


def rockchip_adb_visible(scan: dict) -> tuple[bool | None, str]:
    """Is a Rockchip device in ADB mode on USB? (None, why) when USB could not be read."""
    if scan.get("devices") is None:
        return None, scan.get("error") or "USB devices could not be listed"
    if scan.get("usb_bus") == "absent":
        return False, f"no USB bus visible, a container or CI? {scan.get('how')}"
    adb = [d for d in scan["devices"] if d.get("mode") == "adb" or d.get("adb_interface")]
    if adb:
        return True, f"{len(adb)} Rockchip device(s) in ADB mode on USB ({', '.join('2207:' + d['pid'] for d in adb)}, {adb[0].get('source')})"
    return False, f"{len(scan['devices'])} vendor-2207 device(s), none in ADB mode; {scan.get('how')}"
