"""Connection rules: what needs the host and its boards together (seed §1.7.2 items 2–7,
TS-1.7.5 §8.8), plus the verdicts on what the adb server and npu_transfer_proxy listed.

Pure, like every rule: judged from facts (host OS/arch, USB devices with their mode, the adb
listing in facts["adb"], the NTB listing in facts["ntb"], processes, udev rules, the device-tree
`compatible`), so `check --facts` replays them exactly as the doctor saw them. A fact a rule
needs and does not have makes its row `unknown` with the command that would observe it; with no
USB bus and no board at all (a container, CI) nothing here can apply and no row is `unknown`.
Subject "connection". Every rule and its source: docs/checks.md, "Connection".
"""
from __future__ import annotations

from rknn_envcheck.report import FAIL, OK, UNKNOWN, WARN, Check, Fix
from rknn_envcheck.rules import connection_sources as src
from rknn_envcheck.rules.chips import is_rk3399pro, v1_npu_family
from rknn_envcheck.shellcmd import Command, adb_shell, board_script, cmd

SUBJECT = "connection"
NTB_MODES = ("ntb", "compute-stick-ntb")
PROXY = "npu_transfer_proxy"
# RV1109/RV1126 firmware enables only ADB by default; NTB is one line in this file (TS-1.7.5 §8.10).
NTB_ENABLE_SCRIPT = "grep -qx usb_ntb_en /etc/init.d/.usb_config || echo usb_ntb_en >> /etc/init.d/.usb_config"


def _check(id_, title, status, component, **fields) -> Check:
    return Check(id_, title, status, subject=SUBJECT, component=component, **fields)


# ---------------------------------------------------------------- what the facts say

def adb_boards(devices) -> list[dict]:
    """Boards the adb server lists as usable (`device`), over USB or TCP."""
    return [d for d in devices or [] if d.get("transport") == "adb" and d.get("state") == "device"]


def ntb_boards(devices) -> list[dict]:
    return [d for d in devices or [] if d.get("transport") == "ntb"]


def usb_devices(host: dict) -> list[dict] | None:
    """Rockchip USB devices, or None when USB was not (or could not be) read."""
    if "usb" not in host or host.get("usb_error"):
        return None
    return [u for u in host.get("usb") or [] if str(u.get("vid", "")).lower() == "2207"]


def is_adb_usb(dev: dict) -> bool:
    return dev.get("mode") == "adb" or bool(dev.get("adb_interface"))


def is_ntb_usb(dev: dict) -> bool:
    return dev.get("mode") in NTB_MODES


def proxy_running(host: dict) -> bool | None:
    if "processes" not in host or host.get("processes_error"):
        return None
    return any(PROXY in str(p).lower() for p in host.get("processes") or [])


def toolkit_v1(target) -> bool:
    return bool(target) and target[0] in ("rknn-toolkit", "rknn-toolkit-lite")


def stop_proxy_commands(os_name: str | None) -> list[Command]:
    """Stopping npu_transfer_proxy: the vendor says "terminate" (TS-1.7.5 §8.8) and names no command;
    these are the OS's own tools, by exact process name (Windows: the .exe of the lite runtime's path)."""
    if os_name == "windows":
        return [cmd("taskkill", "/IM", "npu_transfer_proxy.exe", "/F")]
    return [cmd("pkill", "-x", PROXY)]


def list_proxy_commands(os_name: str | None) -> list[Command]:
    if os_name == "windows":
        return [cmd("tasklist", "/FI", "IMAGENAME eq npu_transfer_proxy.exe")]
    return [cmd("pgrep", "-l", PROXY)]


def _names(boards) -> str:
    return ", ".join(str(b.get("serial")) + (f" ({b['chip']})" if b.get("chip") else "") for b in boards)


def _host_label(host: dict) -> str:
    return f"{host.get('os') or '?'} {host.get('arch') or '?'}"


# ---------------------------------------------------------------- entry points

def judge_listing(facts: dict) -> list[Check]:
    """The adb server and npu_transfer_proxy listings (device, explain and the doctor)."""
    from rknn_envcheck.rules.connection_listing import judge_adb_listing, judge_ntb_listing

    return judge_adb_listing(facts) + judge_ntb_listing(facts)


def judge_connection(facts: dict, matrix, target, host_judged: bool = True) -> list[Check]:
    checks = judge_listing(facts)
    host = facts.get("host") or {}
    if not host_judged or not host:
        return checks
    from rknn_envcheck.rules.connection_ntb import judge_ntb_rules

    devices = facts.get("devices") or []
    checks += _unlisted_adb_usb(facts, host, devices)
    checks += _adb_platform(host, devices, target, matrix)
    checks += _proxy_with_adb(host, devices, target)
    checks += judge_ntb_rules(facts, host, devices, target, matrix)
    checks += _security_software(host, devices)
    return checks


# ---------------------------------------------------------------- ADB-side rules

def _unlisted_adb_usb(facts: dict, host: dict, devices: list) -> list[Check]:
    """An ADB-mode Rockchip device on USB that the adb server does not list. Only when the facts
    record that the adb server answered (`adb.listed`), else "not listed" means nothing."""
    adb = facts.get("adb") or {}
    usb = usb_devices(host)
    if "listed" not in adb or usb is None:
        return []
    adb_usb = [u for u in usb if is_adb_usb(u) and u.get("accessible", u.get("can_open")) is not False]
    usb_listed = [d for d in devices if d.get("transport") == "adb" and ":" not in str(d.get("serial", ""))]  # TCP boards are not on USB
    if len(adb_usb) <= len(usb_listed):
        return []
    return [_check("connection.usb.adb", "ADB-mode boards on USB", WARN, "adb",
                   observed=f"{len(adb_usb)} ADB-mode Rockchip device(s) on USB, {len(usb_listed)} listed by the adb server",
                   how=f"host.usb ({(host.get('how') or {}).get('usb', 'USB')}) vs adb devices -l at {adb.get('endpoint')}",
                   expected="every ADB-mode board listed", source=src.SEED_ITEM_2,
                   message="a Rockchip board in ADB mode is on USB but the adb server does not list it (another adb server owns it, or it was started with ADB_USB=0)",
                   fix=Fix("restart your own adb server, then list again", [cmd("adb", "kill-server"), cmd("adb", "start-server"), cmd("adb", "devices", "-l")]))]


def _ntb_switch_fix(board: dict, matrix) -> tuple[str, list[Command]]:
    """How to move one ADB board to NTB, by its chip's matrix row (PUMA, RK3399Pro, other LION)."""
    chip = str(board.get("chip") or "").upper()
    serial = board.get("serial")
    family = v1_npu_family(matrix, chip)
    if family == "PUMA":
        return (f"{serial} ({chip}): enable NTB by adding usb_ntb_en to /etc/init.d/.usb_config and reboot (TS-1.7.5 §8.10; keep usb_adb_en, UG-1.7.5 §2.4.3)",
                [adb_shell(serial, ["sh", "-c", board_script(NTB_ENABLE_SCRIPT)]), Command(["adb", "-s", serial, "reboot"])])
    if is_rk3399pro(matrix, chip):
        return (f"{serial} (RK3399Pro) supports ADB only (UG-1.7.5 §7.19): use a Linux x86_64 PC, or run the AARCH64 toolkit on the board itself (TS-1.7.5 §8.8 item 10)", [])
    if family == "LION":
        return (f"{serial} ({chip}): NTB is on by default on RK1808 boards (UG-1.7.5 §2.4.3 note 2); connect it through NTB (npu_transfer_proxy), not adb", [])
    return (f"{serial}: switch the board to NTB mode (RV1109/RV1126: usb_ntb_en in /etc/init.d/.usb_config, TS-1.7.5 §8.10)", [])


def _adb_platform(host: dict, devices: list, target, matrix) -> list[Check]:
    """TS-1.7.5 §8.8 item 5: "the ADB device can only be used on the Linux x86_64 platform"."""
    if not toolkit_v1(target):
        return []
    boards = adb_boards(devices)
    usb = usb_devices(host)
    adb_on_usb = [u for u in usb or [] if is_adb_usb(u)]
    if not boards and not adb_on_usb:
        return []
    title = "ADB boards with RKNN-Toolkit v1"
    observed_boards = _names(boards) if boards else f"{len(adb_on_usb)} ADB-mode USB device(s) ({', '.join('2207:' + str(u.get('pid')) for u in adb_on_usb)})"
    os_name, arch = host.get("os"), (host.get("arch") or "").lower()
    if not os_name or not arch:
        return [_check("connection.adb-platform", title, UNKNOWN, "rknn-toolkit", observed=observed_boards,
                       how="host.os / host.arch missing from the facts", expected="a Linux x86_64 host", source=src.TS_8_8_ITEM_5,
                       message="boards in ADB mode are connected but the host's OS or architecture was not observed",
                       fix=Fix("record the host's OS and architecture", [cmd("python3", "-c", "import platform; print(platform.system(), platform.machine())")]))]
    if os_name == "linux" and arch in ("x86_64", "amd64"):
        return [_check("connection.adb-platform", title, OK, "rknn-toolkit", observed=f"{_host_label(host)}; {observed_boards}",
                       how="host.os, host.arch + adb listing / USB", expected="a Linux x86_64 host", source=src.TS_8_8_ITEM_5,
                       message="boards in ADB mode are used from a Linux x86_64 host, the only platform where toolkit v1 supports ADB devices")]
    steps = [_ntb_switch_fix(b, matrix) for b in boards]
    text = "; ".join(t for t, _ in steps) or "switch the board to NTB mode (RV1109/RV1126: usb_ntb_en, TS-1.7.5 §8.10)"
    return [_check("connection.adb-platform", title, FAIL, "rknn-toolkit", observed=f"{_host_label(host)} host; ADB mode: {observed_boards}",
                   how="host.os, host.arch + adb listing / USB", expected="ADB boards only from a Linux x86_64 host", source=src.TS_8_8_ITEM_5,
                   message=f"RKNN-Toolkit v1 can use boards in ADB mode only from Linux x86_64; on a {_host_label(host)} host it looks for NTB devices only "
                           f"(its own message: 'Only support ntb mode on ...'), so {observed_boards} cannot be used",
                   fix=Fix(f"switch to NTB, or use a Linux x86_64 host: {text}", [c for _, cs in steps for c in cs]))]


def _proxy_with_adb(host: dict, devices: list, target) -> list[Check]:
    """TS-1.7.5 §8.8 item 5: "When using the ADB device, the npu_transfer_proxy process needs to be
    terminated". A toolkit v1 statement: toolkit2 never starts or talks to npu_transfer_proxy."""
    boards = adb_boards(devices)
    if not boards or not toolkit_v1(target):
        return []
    title = "npu_transfer_proxy while ADB boards are used"
    running = proxy_running(host)
    if running is None:
        return [_check("connection.proxy-adb", title, UNKNOWN, PROXY, observed=f"ADB boards: {_names(boards)}",
                       how=host.get("processes_error") or "the process list was not observed", expected=f"no {PROXY} running",
                       source=src.TS_8_8_ITEM_5, message=f"boards are used over ADB, and whether {PROXY} runs was not observed",
                       fix=Fix(f"look for {PROXY}", list_proxy_commands(host.get("os"))))]
    if not running:
        return [_check("connection.proxy-adb", title, OK, PROXY, observed=f"no {PROXY}; ADB boards: {_names(boards)}",
                       how=(host.get("how") or {}).get("processes", "process list"), source=src.TS_8_8_ITEM_5,
                       message=f"{PROXY} is not running, as ADB boards need")]
    return [_check("connection.proxy-adb", title, FAIL, PROXY, observed=f"{PROXY} running; ADB boards: {_names(boards)}",
                   how=(host.get("how") or {}).get("processes", "process list"), expected=f"{PROXY} terminated while ADB boards are used",
                   source=src.TS_8_8_ITEM_5,
                   message=f"{PROXY} is running while {_names(boards)} are used over ADB: the toolkit's own warning is 'it may cause conflict. "
                           "Please terminate npu_transfer_proxy first', and init_runtime fails with RKNN_ERR_DEVICE_UNAVAILABLE",
                   fix=Fix(f"stop {PROXY} before using ADB boards", stop_proxy_commands(host.get("os"))))]


def _security_software(host: dict, devices: list) -> list[Check]:
    """Seed §1.7.2 item 7 / TS-1.7.5 §8.8 item 7: on Windows, 360 / Tencent PC Manager "may" cause the error."""
    if host.get("os") != "windows":
        return []
    found = host.get("security_software") or []
    title = "Security software (Windows)"
    boards = adb_boards(devices) + ntb_boards(devices) + [u for u in usb_devices(host) or []]
    if found:
        names = ", ".join(f"{s.get('name')} ({s.get('product')})" for s in found)
        return [_check("connection.security-software", title, WARN, "security software", observed=names,
                       how=(host.get("how") or {}).get("processes", "process list"), expected="none of them running while a board is used",
                       source=src.SECURITY_SOURCE,
                       message=f"{names} running: the vendor says such programs may also cause RKNN_ERR_DEVICE_UNAVAILABLE on Windows",
                       fix=Fix("exit them (or allow adb / npu_transfer_proxy in them) while using the board"))]
    if not boards:
        return []
    if "processes" not in host or host.get("processes_error"):
        return [_check("connection.security-software", title, UNKNOWN, "security software", observed=None,
                       how=host.get("processes_error") or "the process list was not observed", source=src.SECURITY_SOURCE,
                       message="whether 360 Security Guard / Tencent PC Manager run was not observed",
                       fix=Fix("list the running programs", [cmd("tasklist")]))]
    return [_check("connection.security-software", title, OK, "security software", observed="none",
                   how=(host.get("how") or {}).get("processes", "process list"), source=src.SECURITY_SOURCE,
                   message="none of the security programs the vendor names is running")]

