"""Versions a log printed → facts in the shared facts schema, each with how = "log line N".

The board the log came from becomes one device (serial "log"); the toolkit banner becomes a host
package (or, for toolkit-lite, a package of the board's Python); what only the log can tell (the
model's format version, toolkit version and target platform) goes under the extra key "log".
"""
from __future__ import annotations

from rknn_envcheck.explain.scan import ScanResult

LOG_SERIAL = "log"

# extract field -> (section, key) in the facts
DEVICE_FIELDS = {
    "runtime_version": "librknn_runtime",
    "v1_runtime_version": "librknn_runtime",
    "driver_version": "npu_driver",
    "galcore_version": "npu_driver",
    "rknn_server_version": "rknn_server",
    "v1_rknn_server_version": "rknn_server",
    "board_chip": "chip",
}
LOG_FIELDS = ("model_version", "model_toolkit_version", "model_chip", "runtime_max_model_version", "api_version",
              "runtime_lib", "rknn_server_min", "driver_min", "hal_user", "hal_kernel",
              # install-time and platform messages (messages_*.toml): what the log says of the host
              "python_version", "numpy_version", "protobuf_version", "macos_version", "glibc_version",
              "host_os", "host_arch", "driver_required_min", "requires_python", "glibc_required",
              "libpython_version")


def _normal_package(name: str) -> str:
    return name.replace("_", "-").lower()


def facts_from_log(result: ScanResult) -> tuple[dict, list[str]]:
    """Return (facts, notes). notes say where the log contradicts itself (two different runtimes...)."""
    device: dict = {"serial": LOG_SERIAL, "raw": {}, "how": {}}
    log: dict = {"source": result.info.name, "how": {}}
    host: dict = {}
    notes: list[str] = []
    for finding in result.ordered():
        extract = finding.message.extract
        for hit in finding.hits:
            values = {field: hit.groups[group] for field, group in extract.items() if hit.groups.get(group)}
            if finding.message.id == "hal_user_version":
                values = {f"hal_{values.get('hal_side', 'user')}": values.get("hal_version")}
            how = f"log line {hit.line_no}"
            for field, value in values.items():
                if value is None:
                    continue
                if field in DEVICE_FIELDS:
                    key = DEVICE_FIELDS[field]
                    if key == "chip":
                        value = value.upper()
                    _put(device, key, value, how, hit.text, notes)
                elif field in LOG_FIELDS:
                    if field == "model_chip":
                        value = value.upper()
                    old = log.get(field)
                    if old is not None and old != value:
                        notes.append(f"the log shows two values for {field}: {old} ({log['how'][field]}) and {value} ({how}); the later one is used")
                    log[field] = value
                    log["how"][field] = how
            if finding.message.id == "toolkit_banner" and hit.groups.get("toolkit_version"):
                package = _normal_package(hit.groups["toolkit_package"])
                if "lite" in package:
                    device.setdefault("python", {}).setdefault("packages", {})[package] = hit.groups["toolkit_version"]
                    device["transport"] = "local"  # toolkit-lite runs on the board itself
                    device["how"]["python.packages"] = how
                else:
                    host.setdefault("packages", {})[package] = hit.groups["toolkit_version"]
                    host.setdefault("how", {})[f"packages.{package}"] = how
    facts: dict = {"schema": "rknn-envcheck/facts/1", "host": host, "devices": [], "log": log}
    if len(device) > 3 or device["raw"]:
        facts["devices"].append(device)
    return facts, notes


def _put(device: dict, key: str, value: str, how: str, raw: str, notes: list[str]) -> None:
    old = device.get(key)
    if old is not None and old != value:
        notes.append(f"the log shows two values for the board's {key}: {old} ({device['how'][key]}) and {value} ({how}); the later one is used")
    device[key] = value
    device["how"][key] = how
    device["raw"][key] = raw


def merge_facts(observed: dict | None, from_log: dict) -> tuple[dict, list[str]]:
    """Observed facts (--facts/--device/--emulate/--host) win; the log fills what they lack.

    A value the log shows that differs from what is observed now is reported in the notes: the
    log may be from before an update.
    """
    notes: list[str] = []
    if not observed:
        return from_log, notes
    merged = dict(observed)
    merged["log"] = from_log.get("log", {})
    host = dict(merged.get("host") or {})
    for package, version in ((from_log.get("host") or {}).get("packages") or {}).items():
        packages = dict(host.get("packages") or {})
        if package in packages and packages[package] != version:
            notes.append(f"the log was made with {package} {version}, this host now has {packages[package]}")
        packages.setdefault(package, version)
        host["packages"] = packages
    merged["host"] = host
    log_devices = from_log.get("devices") or []
    devices = [dict(d) for d in (merged.get("devices") or [])]
    if log_devices:
        log_device = log_devices[0]
        if len(devices) == 1:
            target = devices[0]
            for key, value in log_device.items():
                if key in ("serial", "raw", "how", "transport"):
                    continue
                if key in target and target[key] not in (None, value):
                    notes.append(f"the log shows {key} {value} ({log_device['how'].get(key, 'log')}), board {target.get('serial')} now reports {target[key]}: the log may be from before an update")
                elif key not in target or target[key] is None:
                    target[key] = value
                    target.setdefault("how", {})[key] = log_device["how"].get(key, "log")
                    target.setdefault("raw", {})[key] = log_device["raw"].get(key, "")
        else:
            devices.append(log_device)
    merged["devices"] = devices
    return merged, notes
