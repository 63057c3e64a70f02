"""Rockchip USB devices (vendor 0x2207) through pyusb: product id, what that mode means, who may open it.

No libusb backend is a fact to report (with how to install libusb), not a crash. pyusb is imported
here, inside the function, never at CLI start-up.
"""
from __future__ import annotations

import os
import sys

ROCKCHIP_VID = 0x2207

# Used only when the matrix has no [[usb_id]] rows. Source: toolkit1.md §4.2 (board gadget script
# start_usb.sh: 0x0006 adb, 0x1808 ntb; compute stick quick start: 2207:0018).
FALLBACK_MODES = {
    "0006": {"mode": "adb", "meaning": "board in ADB mode (start_usb.sh gadget, idProduct 0x0006)", "source": "toolkit1.md §4.2"},
    "1808": {"mode": "ntb", "meaning": "board in NTB mode (start_usb.sh gadget, idProduct 0x1808)", "source": "toolkit1.md §4.2"},
    "0018": {"mode": "ntb", "meaning": "TB-RK1808 compute stick (NTB, 2207:0018 per the quick start guide)", "source": "toolkit1.md §4.2"},
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


_LIBRARY_ORDER = (("libusb-1.0", "usb-1.0"), ("OpenUSB", "openusb"), ("libusb-0.1", "usb-0.1"))


def linux_libusb() -> tuple[str | None, str]:
    """(soname, how) of the first library a pyusb backend would load, by dlopen, without pyusb.

    Importing pyusb costs ~20 ms; when no libusb loads, pyusb finds no backend either (its
    loader is given the same dlopen finder below), so the answer is known without it.
    """
    tried = []
    for _label, candidate in _LIBRARY_ORDER:
        soname = _linux_find_library(candidate)
        if soname:
            return soname, f"dlopen({soname})"
        tried.extend(_SONAMES[candidate])
    return None, f"dlopen failed for {', '.join(tried)} (the libraries pyusb's libusb1, openusb and libusb0 backends load)"


def sysfs_rockchip_count(sysfs: str = "/sys/bus/usb/devices") -> int | None:
    """How many USB devices with idVendor 2207 the kernel lists; None when sysfs has no USB bus."""
    if not os.path.isdir(sysfs):
        return None
    count = 0
    for entry in os.listdir(sysfs):
        try:
            with open(os.path.join(sysfs, entry, "idVendor")) as handle:
                if handle.read().strip().lower() == "2207":
                    count += 1
        except OSError:
            continue
    return count


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
        return dict(FALLBACK_MODES), "built-in table (the matrix has no [[usb_id]] rows): 0006 adb, 1808 ntb, 0018 compute stick, per toolkit1.md §4.2"
    modes = {}
    for row in rows:
        pid = str(row["pid"]).lower().removeprefix("0x")
        pid = pid if pid == "*" else pid.zfill(4)  # "*" = any other Rockchip product id
        modes[pid] = {"mode": row.get("mode"), "meaning": row.get("meaning"), "source": row.get("source", "")}
    return modes, f"matrix [[usb_id]] rows ({len(modes)} product ids)"


def _sysfs_serial(bus: int | None, address: int | None, sysfs: str = "/sys/bus/usb/devices") -> str | None:
    """The serial string without opening the device (which may need permissions we lack)."""
    if bus is None or address is None or not os.path.isdir(sysfs):
        return None
    for entry in os.listdir(sysfs):
        base = os.path.join(sysfs, entry)
        try:
            with open(os.path.join(base, "busnum")) as fb, open(os.path.join(base, "devnum")) as fd:
                if int(fb.read()) != bus or int(fd.read()) != address:
                    continue
            with open(os.path.join(base, "serial")) as fs:
                return fs.read().strip() or None
        except (OSError, ValueError):
            continue
    return None


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


def describe_device(dev, modes: dict[str, dict], dev_root: str = "/dev/bus/usb") -> dict:
    pid = f"{int(dev.idProduct):04x}"
    bus = getattr(dev, "bus", None)
    address = getattr(dev, "address", None)
    known = pid in modes
    row = modes.get(pid) or modes.get("*")
    can_open, access_how = node_access(bus, address, dev_root)
    return {
        "vid": f"{int(dev.idVendor):04x}",
        "pid": pid,
        "bus": bus,
        "address": address,
        "mode": row["mode"] if row else "unknown",
        "meaning": row["meaning"] if row else f"Rockchip product id {pid} is not in the table: not an ADB/NTB RKNN board mode "
                                               "(a loader/maskrom or another gadget mode?)",
        "meaning_source": row.get("source", "") if row else "",
        "known_pid": known,
        "serial": _sysfs_serial(bus, address),
        "can_open": can_open,
        "can_open_how": access_how,
    }


def scan_usb(backend=None, matrix=None, dev_root: str = "/dev/bus/usb") -> dict:
    """{'devices': [...] or None, 'error': str or None, 'how': str, 'modes_from': str}.

    `backend`: a pyusb backend instance (tests pass a fake one); None = find libusb.
    """
    if backend is None and sys.platform.startswith("linux"):
        soname, lib_how = linux_libusb()
        if soname is None:
            return {"devices": None, "how": lib_how,
                    "error": f"no libusb library found, so USB devices cannot be listed; install it: {LIBUSB_INSTALL['linux']}"}
        if sysfs_rockchip_count() == 0:
            # The kernel's own list says no Rockchip device is attached: nothing for pyusb to describe.
            return {"devices": [], "error": None, "how": f"{lib_how} ok; /sys/bus/usb/devices/*/idVendor: no device of vendor 2207"}
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
    if not found:
        return {"devices": [], "error": None, "how": f"{how}: usb.core.find(idVendor=0x2207)"}
    modes, modes_from = load_modes(matrix)
    devices = [describe_device(dev, modes, dev_root) for dev in found]
    return {"devices": devices, "error": None, "how": f"{how}: usb.core.find(idVendor=0x2207)", "modes_from": modes_from}
