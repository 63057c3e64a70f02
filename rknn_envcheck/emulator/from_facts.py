"""Turn one device of a saved facts file into a profile, so a user's reported board can be replayed.

The raw lines the probe saw (device.raw) are put back where they were read (device.how), so the
replayed board prints what the real one printed. A value without its raw line is rebuilt in the
vendor's format for its generation (toolkit1.md §3.2, toolkit2.md §3.3) and marked as rebuilt.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from rknn_envcheck.errors import UsageError
from rknn_envcheck.emulator.profile import profile_from_dict
from rknn_envcheck.tomlfile import toml_module

# The matrix's chip rows (line, runtime library and paths) decide where a replayed board keeps
# its files; facts from before `paths` was recorded fall back to those defaults.
_GENERIC_V2 = {"line": "rknn-toolkit2", "runtime_library": "librknnrt.so",
               "server_paths": {"linux": ["/usr/bin/rknn_server"], "android": ["/vendor/bin/rknn_server"]},
               "runtime_paths": {"linux": ["/usr/lib/librknnrt.so"], "android": ["/vendor/lib64/librknnrt.so"]}}


def _toml_str(value: str) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("\x7f", "\\u007f")


def _recorded_path(dev: dict, field: str, chip_row: dict, os_name: str) -> str:
    """Where the board had the file: the structured `paths` fact (runtime_path for the runtime),
    else the chip's first path in the matrix for that OS."""
    recorded = (dev.get("paths") or {}).get(field) or (dev.get("runtime_path") if field == "librknn_runtime" else None)
    if isinstance(recorded, str) and recorded.startswith("/"):
        return recorded
    table = chip_row.get("server_paths" if field == "rknn_server" else "runtime_paths") or {}
    defaults = table.get(os_name) or table.get("linux") or _GENERIC_V2["server_paths" if field == "rknn_server" else "runtime_paths"]["linux"]
    return defaults[0]


def _compatible_entries(dev: dict, chip: str) -> list:
    compatible = dev.get("device_tree_compatible")
    if isinstance(compatible, str):
        compatible = compatible.replace("\x00", " ").split()
    if not compatible and (dev.get("how") or {}).get("chip") == "/proc/device-tree/compatible":
        compatible = str((dev.get("raw") or {}).get("chip") or "").split()  # facts saved before device_tree_compatible
    return list(compatible or [f"rockchip,{chip.lower()}"])


def _first_device(facts: dict, serial: Optional[str], source: str) -> dict:
    devices = [d for d in facts.get("devices", []) if isinstance(d, dict)]
    if serial is not None:
        devices = [d for d in devices if d.get("serial") == serial]
        if not devices:
            raise UsageError(f"{source}: no device with serial {serial!r} (serials: {', '.join(str(d.get('serial')) for d in facts.get('devices', []))})")
    if not devices:
        raise UsageError(f"{source}: the facts file has no devices to replay")
    if len(devices) > 1 and serial is None:
        raise UsageError(f"{source}: {len(devices)} devices; choose one with --serial ({', '.join(str(d.get('serial')) for d in devices)})")
    return devices[0]


def profile_toml_from_facts(facts: dict, source: str, serial: Optional[str] = None, matrix=None) -> str:
    if matrix is None:
        from rknn_envcheck.matrix import load_matrix

        matrix = load_matrix()
    dev = _first_device(facts, serial, source)
    raw = dev.get("raw") or {}
    chip = str(dev.get("chip") or "unknown")
    chip_row = matrix.chip(chip) or _GENERIC_V2
    v1 = chip_row.get("line") == "rknn-toolkit"
    os_name = dev.get("os") if dev.get("os") in ("linux", "android") else "linux"
    files, dmesg, notes = [], [], []
    entries = _compatible_entries(dev, chip)
    files.append(("/proc/device-tree/compatible", f"{{ text = {_toml_str(chr(0).join(entries) + chr(0))} }}"))

    def add_binary(field: str, default_path: Optional[str], rebuilt: str):
        value = dev.get(field)
        if not value and not raw.get(field):
            return
        line = raw.get(field)
        if not line:
            line = rebuilt.format(v=value)
            notes.append(f"{field} rebuilt from the version (no raw line)")
        path = _recorded_path(dev, field, chip_row, os_name) if default_path is None else default_path
        files.append((path, f"{{ strings = [{', '.join(_toml_str(l) for l in line.splitlines() if len(l) >= 4)}] }}"))

    if v1:
        add_binary("rknn_server", None, "{v} (0000000 build: 1970-01-01 00:00:00)")
        add_binary("librknn_runtime", None, "librknn_runtime version {v} (0000000 build: 1970-01-01 00:00:00 base: 0)")
    else:
        add_binary("rknn_server", None, "rknn_server version: {v} (0000000 build@1970-01-01T00:00:00)")
        library = str(dev.get("runtime_library") or chip_row.get("runtime_library") or "librknnrt.so").rsplit(".so", 1)[0]
        add_binary("librknn_runtime", None, library + " version: {v} (0000000000@1970-01-01T00:00:00)")
    driver, driver_raw = dev.get("npu_driver"), raw.get("npu_driver")
    if driver or driver_raw:
        line = driver_raw or (f"Galcore version {driver}" if v1 else f"RKNPU driver: v{driver}")
        if not driver_raw:
            notes.append("npu_driver rebuilt from the version (no raw line)")
        if line.startswith("RKNPU driver:"):
            files.append(("/sys/kernel/debug/rknpu/version", f"{{ text = {_toml_str(line.rstrip() + chr(10))} }}"))
        else:
            dmesg.append(line if line.startswith("[") else f"[    9.342806] {line}")
    if dev.get("mini_driver") is True:
        files.append(("/usr/lib/libVSC_Lite.so", "{ strings = [] }"))
    elif dev.get("mini_driver") is False:
        files.append(("/usr/lib/libVSC.so", "{ strings = [] }"))
    toolkit = next((f"{name}=={ver}" for name, ver in (facts.get("host", {}).get("packages") or {}).items()
                    if name in ("rknn-toolkit2", "rknn-toolkit") and isinstance(ver, str) and " " not in ver), "rknn-toolkit2==unknown")
    description = f"Board {dev.get('serial')} replayed from {Path(source).name}" + ("; " + "; ".join(notes) if notes else "")
    out = [
        "# Generated by `rknn-envcheck emulator from-facts`; edit freely (format: docs/emulator.md).", "",
        "[meta]",
        f"description = {_toml_str(description)}",
        f"source = {_toml_str(f'facts file {source}')}",
        'expect = "unknown: replayed board; judge it with `rknn-envcheck device --emulate PROFILE`"',
        'expect_status = "unknown"',
        f"toolkit = {_toml_str(toolkit)}", "",
        "[board]",
        f"chip = {_toml_str(chip)}", f"os = {_toml_str(os_name)}", f"arch = {_toml_str(str(dev.get('arch') or 'aarch64'))}",
        f"serial = {_toml_str(str(dev.get('serial') or 'replayed'))}",
        f"generation = {_toml_str('rknpu1' if v1 else 'rknpu2')}",
        "processes = [\"/usr/bin/rknn_server\"]" if dev.get("rknn_server") else "processes = []", "",
        *(["[props]", '"ro.build.version.sdk" = "30"  # rebuilt: the facts say Android, not which SDK level', ""] if os_name == "android" else []),
        "[kernel]",
        f"release = {_toml_str(str(dev.get('kernel') or '5.10.160'))}",
        "dmesg = [" + ", ".join(_toml_str(l) for l in dmesg) + "]", "",
        "[files]",
    ]
    out += [f"{_toml_str(path)} = {spec}" for path, spec in files]
    return "\n".join(out) + "\n"


def convert(facts_path: str, out_path: str, serial: Optional[str] = None, force: bool = False) -> Path:
    from rknn_envcheck.facts import load_facts
    from rknn_envcheck.safeio import write_text

    facts = load_facts(facts_path)
    text = profile_toml_from_facts(facts, facts_path, serial)
    out = Path(out_path)
    if out.exists() and not force:
        raise UsageError(f"{out}: already exists; pass --force to overwrite it (nothing was written)")
    profile_from_dict(toml_module().loads(text), out.stem, str(out))  # never write a profile we would refuse
    write_text(out, text)
    return out
