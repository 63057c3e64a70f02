"""Programs on PATH: gcc/cc (toolkit v1 pre_compile builds with them) and adb (with its version)."""
from __future__ import annotations

import os
import shutil


def _adbutils_bundled_adb() -> str | None:
    """adbutils' own order is ADBUTILS_ADB_PATH, PATH, then its bundled binary; find that binary
    without importing adbutils (which pulls in requests and more)."""
    from importlib.util import find_spec

    try:
        spec = find_spec("adbutils")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    exe = os.path.join(os.path.dirname(spec.origin), "binaries", "adb.exe" if os.name == "nt" else "adb")
    return exe if os.path.isfile(exe) else None


def scan_tools(timeout: float = 3.0) -> dict:
    from rknn_envcheck.probes.processes import adb_version

    how: dict[str, str] = {}
    gcc = shutil.which("gcc")
    cc = shutil.which("cc")
    how["gcc"] = "shutil.which('gcc') and shutil.which('cc') on PATH"
    result: dict = {"gcc": bool(gcc or cc), "gcc_path": gcc, "cc_path": cc}

    # adbutils uses ADBUTILS_ADB_PATH before PATH; report the one the tool and the toolkit would run.
    candidates = []
    override = os.environ.get("ADBUTILS_ADB_PATH")
    if override:
        candidates.append((override, "ADBUTILS_ADB_PATH"))
    on_path = shutil.which("adb")
    if on_path:
        candidates.append((on_path, "shutil.which('adb') on PATH"))
    bundled = _adbutils_bundled_adb()
    if bundled:
        candidates.append((bundled, "the adb bundled in the adbutils wheel (no adb on PATH)"))
    if not candidates:
        result["adb"] = {"path": None, "version": None}
        how["adb"] = "shutil.which('adb'): no adb on PATH, ADBUTILS_ADB_PATH not set, adbutils has no bundled adb"
        return {**result, "how": how}
    path, where = candidates[0]
    if not os.path.isfile(path):
        result["adb"] = {"path": path, "version": None, "error": f"{where} names {path}, which does not exist"}
        how["adb"] = where
        return {**result, "how": how}
    version, version_how = adb_version(path, timeout)
    result["adb"] = {"path": path, "version": version}
    if on_path and override and os.path.realpath(on_path) != os.path.realpath(override):
        result["adb"]["also_on_path"] = on_path
    how["adb"] = f"{where}; {version_how}"
    return {**result, "how": how}
