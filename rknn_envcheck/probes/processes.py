"""Processes that matter to an RKNN host: npu_transfer_proxy, the adb server, Windows security software.

psutil is imported inside the function (it costs ~13 ms, and most commands never need it).
Only processes of interest are recorded, not the whole process table.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

NPU_TRANSFER_PROXY = "npu_transfer_proxy"

# The vendor names the products, not their executables: seed §1.7.2 item 7 ("360 安全卫士/腾讯电脑管家")
# and TS-1.7.5 §8.8 item 7 ("360 Security Guard/Tencent Computer Manager"): on Windows close them,
# "otherwise this error [RKNN_ERR_DEVICE_UNAVAILABLE] may also occur". The process names below are
# ours (inferred: the executables those products run — 360: tray, main UI, active defence service,
# antivirus; Tencent: tray, real-time protection, main UI), so each says so beside the vendor source.
SEED_SECURITY_SOURCE = "seed §1.7.2 item 7; TS-1.7.5 §8.8 item 7"
_INFERRED = "inferred from seed §1.7.2 item 7 (the products' executables; the vendor names only the products)"
SECURITY_SOFTWARE = {
    "360tray.exe": "360 安全卫士 (360 Total Security)",
    "360safe.exe": "360 安全卫士 (360 Total Security)",
    "zhudongfangyu.exe": "360 安全卫士 active defence (ZhuDongFangYu)",
    "360sd.exe": "360 杀毒 (360 Antivirus)",
    "360rps.exe": "360 杀毒 (360 Antivirus)",
    "qqpctray.exe": "腾讯电脑管家 (Tencent PC Manager)",
    "qqpcrtp.exe": "腾讯电脑管家 (Tencent PC Manager)",
    "qqpcmgr.exe": "腾讯电脑管家 (Tencent PC Manager)",
}


def _base_name(name: str) -> str:
    return name.lower()


def is_adb_server(name: str, cmdline: list[str]) -> bool:
    """`adb -L tcp:5037 fork-server server --reply-fd 4` (daemon) or `adb ... server nodaemon`."""
    if _base_name(name) not in ("adb", "adb.exe"):
        return False
    return any(arg in ("fork-server", "server") for arg in cmdline[1:])


def _server_port(cmdline: list[str]) -> str | None:
    """`-L tcp:5038` / `-P 5038` on the server's command line; None = the default (5037 or $ANDROID_ADB_SERVER_PORT)."""
    for index, arg in enumerate(cmdline):
        if arg == "-L" and index + 1 < len(cmdline) and cmdline[index + 1].startswith("tcp:"):
            return cmdline[index + 1].rsplit(":", 1)[-1]
        if arg == "-P" and index + 1 < len(cmdline):
            return cmdline[index + 1]
    return None


def adb_version(binary: str, timeout: float = 3.0) -> tuple[str | None, str]:
    """(`1.0.41 (29.0.6-debian)`, how) from `<binary> version`, bounded by `timeout`."""
    try:
        proc = subprocess.run([binary, "version"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"`{binary} version` did not answer within {timeout:g} s"
    except OSError as exc:
        return None, f"`{binary} version` could not run: {exc.strerror or exc}"
    lines = proc.stdout.decode("utf-8", "replace").splitlines()
    protocol = release = None
    for line in lines:
        if line.startswith("Android Debug Bridge version"):
            protocol = line.split()[-1]
        elif line.startswith("Version "):
            release = line.split(None, 1)[1].strip()
    if protocol is None:
        return None, f"`{binary} version` printed no version (exit code {proc.returncode}): {' '.join(lines)[:120]!r}"
    text = f"{protocol} ({release})" if release else protocol
    return text, f"`{binary} version`"


def linux_candidates(proc_root: str = "/proc") -> list[int] | None:
    """Pids whose /proc/PID/comm may be a process of interest; None when /proc is unusable.

    Reading ~100 comm files takes ~2 ms; importing psutil ~13 ms and iterating ~10 ms more, so
    psutil is only brought in when there is something to look at closely. comm is cut to 15
    characters by the kernel ("npu_transfer_pr"), hence the prefix match.
    """
    try:
        entries = os.listdir(proc_root)
    except OSError:
        return None
    short_names = {name[:15] for name in (NPU_TRANSFER_PROXY, "adb")} | {name[:15] for name in SECURITY_SOFTWARE}
    pids = []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(os.path.join(proc_root, entry, "comm")) as handle:
                comm = handle.read().strip().lower()
        except OSError:
            continue
        if comm in short_names:
            pids.append(int(entry))
    return pids


def _processes(psutil, pids):
    """psutil processes with .info name/pid: only the /proc candidates when known (iterating
    every process costs ~10 ms), else all of them."""
    if pids is None:
        yield from psutil.process_iter(["name", "pid"])
        return
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            proc.info = {"name": proc.name(), "pid": pid}
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        yield proc


def scan_processes(timeout: float = 3.0) -> dict:
    how = "psutil.process_iter(name): npu_transfer_proxy, adb, and the security software named in the RKNN-Toolkit Troubleshooting Guide §1.7.2"
    pids = None
    if sys.platform.startswith("linux"):
        pids = linux_candidates()
        if pids == []:
            return {"processes": [], "process_details": [], "adb_server": None, "adb_servers": [], "security_software": [],
                    "how": "/proc/*/comm: no npu_transfer_proxy, adb or security software process named in the RKNN-Toolkit Troubleshooting Guide §1.7.2"}
    try:
        import psutil
    except ImportError:
        return {"error": "psutil is not installed: python3 -m pip install psutil", "how": "import psutil"}
    interesting = []
    servers = []
    security = []
    for proc in _processes(psutil, pids):
        name = proc.info.get("name") or ""
        low = _base_name(name)
        is_proxy = low in (NPU_TRANSFER_PROXY, NPU_TRANSFER_PROXY + ".exe")
        is_adb = low in ("adb", "adb.exe")
        is_security = low in SECURITY_SOFTWARE
        if not (is_proxy or is_adb or is_security):
            continue
        detail = {"name": name, "pid": proc.info.get("pid")}
        for attr in ("exe", "cmdline", "username"):
            try:
                detail[attr] = getattr(proc, attr)()
            except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess, OSError):
                detail[attr] = None
        interesting.append(detail)
        if is_security:
            security.append({"name": name, "product": SECURITY_SOFTWARE[low], "pid": detail["pid"], "source": SEED_SECURITY_SOURCE,
                             "name_source": _INFERRED})
        if is_adb and is_adb_server(name, detail.get("cmdline") or []):
            servers.append({"pid": detail["pid"], "exe": detail.get("exe"), "cmdline": detail.get("cmdline"),
                            "user": detail.get("username"), "port": _server_port(detail.get("cmdline") or [])})
    versions: dict[str, tuple] = {}  # one `adb version` per binary, however many servers run it
    for server in servers:
        binary = server.get("exe")
        how_binary = "the running server's executable"
        if not binary or not os.path.exists(binary):
            # Another user's process hides its exe; the adb on PATH is the next best guess, and we say so.
            binary = shutil.which("adb")
            how_binary = "adb on PATH (the server's own executable could not be read)"
        if binary:
            if binary not in versions:
                versions[binary] = adb_version(binary, timeout)
            server["version"], version_how = versions[binary]
            server["how"] = f"psutil process {server['pid']}; version from {how_binary}: {version_how}"
        else:
            server["version"] = None
            server["how"] = f"psutil process {server['pid']}; its executable could not be read and no adb is on PATH"
    adb_server = servers[0] if servers else None
    return {
        "processes": sorted({d["name"] for d in interesting}),
        "process_details": interesting,
        "adb_server": adb_server,
        "adb_servers": servers,
        "security_software": security,
        "how": how,
    }
