"""Gathering boards for `device` and the doctor: which boards (adb listing, --id, --emulate,
--local, NTB), each probed concurrently with its own timeout, plus the connection-level
checks (adb server, USB devices adb does not list, ADB-vs-NTB conflict)."""
from __future__ import annotations

import os

from rknn_envcheck.report import FAIL, OK, UNKNOWN, Check, Fix

SUBJECT = "connection"
# toolkit1.md §4.3: `npu_transfer_proxy devices` prints `%-20s%-12x%s` rows after this header.
NTB_HEADER = "List of ntb devices attached"


def _positive_timeout(args) -> float:
    from rknn_envcheck.errors import UsageError

    if args.timeout is None or not (0 < args.timeout <= 600):
        raise UsageError(f"--timeout {args.timeout}: give a number of seconds between 0 and 600")
    return args.timeout


def gather_boards(args, matrix, *, want_adb: bool = True, adb_info: dict | None = None) -> tuple[list[dict], list[Check]]:
    from rknn_envcheck.probes.board import gather_board

    timeout = _positive_timeout(args)
    if getattr(args, "fault", None) and not getattr(args, "emulate", None):
        from rknn_envcheck.errors import UsageError

        raise UsageError("--fault injects a fault into an emulated board: use it with --emulate PROFILE")
    sessions = []
    checks: list[Check] = []
    devices: list[dict] = []
    if getattr(args, "emulate", None):
        from rknn_envcheck.emulator.board import EmulatedBoard
        from rknn_envcheck.emulator.faults import parse_faults

        faults = parse_faults(args.fault or []) if getattr(args, "fault", None) else None
        for name in args.emulate:
            for profile in name.split(","):
                sessions.append(EmulatedBoard(profile.strip(), faults))
    elif getattr(args, "local", False):
        from rknn_envcheck.boards.local import LocalSession

        sessions.append(LocalSession())
    elif want_adb:
        adb_devices, adb_checks, endpoint, listed = _adb_devices(args, timeout)
        checks += adb_checks
        if adb_info is not None and listed:
            adb_info.update({"endpoint": f"{endpoint.host}:{endpoint.port}", "listed": len(adb_devices)})
        from rknn_envcheck.boards.adb import AdbSession

        for entry in adb_devices:
            if entry["state"] != "device":
                devices.append({"serial": entry["serial"], "state": entry["state"], "transport": "adb",
                                "how": {"state": f"adb devices -l at {endpoint.host}:{endpoint.port}"}})
                continue
            try:
                sessions.append(AdbSession(endpoint, entry["serial"], entry.get("transport_id"), connect_timeout=timeout))
            except Exception as exc:  # noqa: BLE001
                devices.append({"serial": entry["serial"], "state": "device", "transport": "adb", "probe_error": f"protocol: {exc}"})
    root = getattr(args, "sysroot", None) or ""
    if root and not os.path.isdir(root):
        from rknn_envcheck.errors import UsageError

        raise UsageError(f"--sysroot {root}: not a directory")
    if sessions:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(32, len(sessions))) as pool:
            devices += list(pool.map(lambda s: gather_board(s, timeout, matrix, root), sessions))
    return devices, checks


def _adb_devices(args, timeout: float):
    from rknn_envcheck.boards import adb

    endpoint = adb.endpoint(getattr(args, "adb_host", None), getattr(args, "adb_port", None))
    listing = adb.list_boards(endpoint, timeout=timeout, allow_start=not getattr(args, "no_start_server", False))
    checks = []
    where = f"{endpoint.host}:{endpoint.port} ({endpoint.how})"
    if listing.error:
        checks.append(Check("connection.adb-server", "adb server", UNKNOWN, subject=SUBJECT, component="adb", observed=listing.error,
                            how=f"TCP connect to {where}", message=f"no board could be listed: {listing.error}",
                            fix=Fix("start an adb server, or point at one", ["adb start-server", "rknn-envcheck --adb-host HOST --adb-port 5037"])))
        return [], checks, endpoint, False
    version = f" 1.0.{listing.server_version}" if listing.server_version else ""
    started = f"; {listing.started}" if listing.started else ""
    checks.append(Check("connection.adb-server", "adb server", OK, subject=SUBJECT, component="adb", observed=f"adb server{version} at {where}",
                        how="host:devices-l" + (", host:version" if version else ""),
                        message=f"adb server{version} at {endpoint.host}:{endpoint.port} answers ({len(listing.devices)} board(s) listed){started}"))
    wanted = getattr(args, "id", None)
    entries = listing.devices
    if wanted:
        missing = [w for w in wanted if w not in {e["serial"] for e in entries}]
        entries = [e for e in entries if e["serial"] in wanted]
        for serial in missing:
            checks.append(Check("connection.board", f"Board {serial}", FAIL, subject=SUBJECT, component="adb", observed="not listed",
                                how=f"adb devices -l at {where}", expected=f"{serial} listed by the adb server",
                                message=f"the adb server does not list {serial}",
                                fix=Fix("check the serial with `adb devices -l`; for a network board connect it first",
                                        ["adb devices -l", f"adb connect {serial}" if ":" in serial else "# replug the USB cable; see `rknn-envcheck udev`"])))
    if not entries and not wanted:
        checks.append(Check("connection.boards", "Boards", OK, subject=SUBJECT, component="adb", observed="no board",
                            how=f"adb devices -l at {where}", message="no board is connected (the adb server lists none); host checks only"))
    return entries, checks, endpoint, True


def _udev_commands() -> list[str]:
    from rknn_envcheck.udev import udev_fix_commands

    return udev_fix_commands()


def ntb_devices(timeout: float = 3.0) -> tuple[list[dict], str | None, str | None]:
    """Boards reached through npu_transfer_proxy (RK1808 compute sticks): (devices, binary, error)."""
    import shutil
    import subprocess

    binary = shutil.which("npu_transfer_proxy")
    if not binary:
        return [], None, None
    try:
        proc = subprocess.run([binary, "devices"], capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return [], binary, f"`{binary} devices` failed: {exc}"
    devices = []
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        if not line.strip() or line.startswith(NTB_HEADER):
            continue
        parts = line.split()
        if parts:
            devices.append({"serial": parts[0], "state": "device", "transport": "ntb", "ntb_id": parts[1] if len(parts) > 1 else None,
                            "ntb_kind": parts[2] if len(parts) > 2 else None,
                            "how": {"state": f"{binary} devices"}, "raw": {"ntb": line.strip()},
                            "probe_error": "ntb: an NTB board has no shell; its rknn_server / runtime / driver versions cannot be read from the PC (toolkit1.md §4.3)"})
    return devices, binary, None
