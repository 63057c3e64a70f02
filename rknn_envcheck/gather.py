"""Gathering boards for `device` and the doctor: which boards (adb listing, --id, --emulate,
--local, NTB), each probed concurrently with its own timeout. What the adb server and
npu_transfer_proxy said is recorded as facts (`facts["adb"]`, `facts["ntb"]`); the verdicts on it
are rules (rules/connection.py), so `check --facts` replays them exactly."""
from __future__ import annotations

import os

# toolkit1.md §4.3: `npu_transfer_proxy devices` prints `%-20s%-12x%s` rows after this header.
NTB_HEADER = "List of ntb devices attached"

# When may an adb server be started (issue 17 §5)? "explicit": a board command was asked for
# (device --id/--all, explain --id/--all); "usb": the doctor, only when USB shows a Rockchip
# device in ADB mode, or USB cannot be read at all.
START_EXPLICIT = "explicit"
START_IF_USB = "usb"


def _positive_timeout(args) -> float:
    from rknn_envcheck.errors import UsageError

    if args.timeout is None or not (0 < args.timeout <= 600):
        raise UsageError(f"--timeout {args.timeout}: give a number of seconds between 0 and 600")
    return args.timeout


def gather_boards(args, matrix, *, want_adb: bool = True, facts: dict | None = None,
                  start_policy: str = START_EXPLICIT, usb_scan=None) -> tuple[list[dict], list]:
    """(devices, connection checks). The adb listing is stored in `facts["adb"]` when `facts` is
    given (the doctor and `device`: their evaluate() judges it); the checks returned are the same
    rules run on that listing, for callers that judge nothing else (explain)."""
    from rknn_envcheck.probes.board import gather_board

    timeout = _positive_timeout(args)
    if getattr(args, "fault", None) and not getattr(args, "emulate", None):
        from rknn_envcheck.errors import UsageError

        raise UsageError("--fault injects a fault into an emulated board: use it with --emulate PROFILE")
    sessions = []
    devices: list[dict] = []
    listing: dict | None = None
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
        listing, adb_entries, endpoint = adb_listing(args, timeout, start_policy, usb_scan)
        from rknn_envcheck.boards.adb import AdbSession

        for entry in adb_entries:
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
    checks: list = []
    if listing is not None:
        if facts is not None:
            facts["adb"] = listing
        else:
            from rknn_envcheck.rules.connection import judge_listing

            checks = judge_listing({"adb": listing, "devices": devices})
    return devices, checks


def adb_start_decision(args, start_policy: str, usb_scan) -> tuple[bool, str]:
    """(may we start an adb server?, why) — asked only when none is running."""
    if getattr(args, "no_start_server", False):
        return False, "--no-start-server was given"
    if start_policy == START_EXPLICIT:
        wanted = "--id " + " ".join(args.id) if getattr(args, "id", None) else "--all"
        return True, f"a board command was asked for explicitly ({wanted})"
    from rknn_envcheck.probes.usb import rockchip_adb_visible, scan_usb

    scan = usb_scan() if usb_scan is not None else scan_usb()
    visible, why = rockchip_adb_visible(scan)
    if visible is None:
        return True, f"USB devices could not be read ({why}), so boards are looked for through adb"
    if visible:
        return True, why
    return False, f"no Rockchip USB device in ADB mode; adb server not started ({why})"


def adb_listing(args, timeout: float, start_policy: str = START_EXPLICIT, usb_scan=None):
    """(listing facts, device entries to inspect, endpoint). The listing facts record what the
    adb server said — or why none was asked — for rules/connection.py."""
    from rknn_envcheck.boards import adb

    endpoint = adb.endpoint(getattr(args, "adb_host", None), getattr(args, "adb_port", None))
    facts: dict = {"endpoint": f"{endpoint.host}:{endpoint.port}", "endpoint_how": endpoint.how}
    wanted = list(getattr(args, "id", None) or [])
    if wanted:
        facts["wanted"] = wanted
    running = adb.server_listening(endpoint)
    if running:
        facts.update(started=False, reason=f"an adb server was already listening at {endpoint.host}:{endpoint.port}")
    else:
        allowed, reason = adb_start_decision(args, start_policy, usb_scan)
        facts.update(started=False, reason=reason)
        if not allowed:
            if getattr(args, "no_start_server", False):
                facts["error"] = f"no adb server at {endpoint.host}:{endpoint.port} (and --no-start-server was given)"
            return facts, [], endpoint
    listing = adb.list_boards(endpoint, timeout=timeout, allow_start=True, running=running)
    if listing.started:
        facts.update(started=True, reason=f"{facts['reason']}: {listing.started}")
    if listing.error:
        facts["error"] = listing.error
        return facts, [], endpoint
    if listing.server_version:
        facts["server_version"] = listing.server_version
    facts["listed"] = len(listing.devices)
    entries = listing.devices
    if wanted:
        entries = [e for e in entries if e["serial"] in wanted]
    return facts, entries, endpoint


def ntb_listing(timeout: float = 3.0) -> tuple[list[dict], dict]:
    """(NTB devices, facts["ntb"]): what `npu_transfer_proxy devices` lists, or why it could not."""
    devices, binary, error = ntb_devices(timeout)
    if binary is None:
        # Not "no NTB device": the toolkit starts its own bundled proxy; USB facts still show NTB devices.
        return devices, {"binary": None, "how": "no npu_transfer_proxy on PATH (shutil.which)"}
    facts = {"binary": binary, "how": f"{binary} devices"}
    if error:
        facts["error"] = error
    else:
        facts["listed"] = len(devices)
    return devices, facts


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
                            "probe_error": "ntb: an NTB board has no shell; its rknn_server / runtime / driver versions cannot be read from the PC (RKNN-Toolkit Troubleshooting Guide 1.7.5 §7)"})
    return devices, binary, None
