"""Facts: plain JSON data of what was observed, saved with --save-facts and replayed with
`check --facts`. Any field may be missing: missing means "could not check", never "ok".

The fixed keys (issue 3 §3) are validated here so a hand-written or foreign facts file fails
with a message naming the field, not a traceback deep in a rule.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from rknn_envcheck.errors import UsageError

FACTS_SCHEMA = "rknn-envcheck/facts/1"
SUPPORTED_SCHEMAS = (FACTS_SCHEMA,)
DEVICE_STATES = ("device", "unauthorized", "offline", "no permissions", "recovery", "bootloader", "sideload", "rescue", "host", "unknown")
TRANSPORTS = ("adb", "ntb", "local", "emulated")
OSES = ("linux", "windows", "darwin")

# field -> (type or tuple of types, allowed values or None)
_HOST_FIELDS = {
    "os": (str, OSES),
    "arch": (str, None),
    "packages": (dict, None),
    "duplicates": (list, None),
    "processes": (list, None),
    "usb": (list, None),
    "gcc": (bool, None),
    "env": (dict, None),
    "python": (dict, None),
}
_DEVICE_FIELDS = {
    "serial": (str, None),
    "state": (str, DEVICE_STATES),
    "transport": (str, TRANSPORTS),
    "chip": (str, None),
    "arch": (str, None),
    "os": (str, ("linux", "android")),
    "rknn_server": (str, None),
    "librknn_runtime": (str, None),
    "npu_driver": (str, None),
    "mini_driver": (bool, None),
}


def new_facts() -> dict:
    return {"schema": FACTS_SCHEMA, "host": {}, "devices": []}


def _type_name(kind) -> str:
    return {str: "a string", dict: "an object", list: "a list", bool: "true or false"}.get(kind, str(kind))


def _check_fields(obj: dict, spec: dict, where: str, source: str) -> None:
    for key, (kind, allowed) in spec.items():
        if key not in obj or obj[key] is None:
            continue
        value = obj[key]
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise UsageError(f"{source}: {where}.{key} must be {_type_name(kind)}, got {json.dumps(value)[:60]}")
        if allowed is not None and value not in allowed:
            raise UsageError(f"{source}: {where}.{key} is {value!r}; expected one of {', '.join(allowed)}")


def validate_facts(data, source: str = "facts") -> dict:
    """Check the fixed keys; return the data unchanged. Raise UsageError naming the field."""
    if not isinstance(data, dict):
        raise UsageError(f"{source}: the top level must be a JSON object with 'schema', 'host' and 'devices'")
    schema = data.get("schema")
    if schema is None:
        raise UsageError(f"{source}: missing 'schema' (expected {FACTS_SCHEMA!r}); see docs/facts.md")
    if schema not in SUPPORTED_SCHEMAS:
        raise UsageError(f"{source}: schema {schema!r} is not supported by this rknn-envcheck (supported: {', '.join(SUPPORTED_SCHEMAS)}); upgrade rknn-envcheck or re-save the facts")
    if "judged_for" in data and not isinstance(data["judged_for"], str):
        raise UsageError(f"{source}: 'judged_for' must be a toolkit string like \"rknn-toolkit2==2.3.2\"")
    host = data.get("host", {})
    if host is None:
        host = {}
    if not isinstance(host, dict):
        raise UsageError(f"{source}: 'host' must be an object")
    _check_fields(host, _HOST_FIELDS, "host", source)
    python = host.get("python") or {}
    if "version" in python and not isinstance(python["version"], str):
        raise UsageError(f"{source}: host.python.version must be a string like \"3.8.10\"")
    for name, version in (host.get("packages") or {}).items():
        if not isinstance(version, str):
            raise UsageError(f"{source}: host.packages[{name!r}] must be a version string, got {json.dumps(version)[:40]}")
    for index, dup in enumerate(host.get("duplicates") or []):
        if not isinstance(dup, dict) or not isinstance(dup.get("name"), str) or not isinstance(dup.get("locations"), list):
            raise UsageError(f"{source}: host.duplicates[{index}] must be {{\"name\": ..., \"locations\": [{{\"path\", \"version\"}}]}}")
    for index, usb in enumerate(host.get("usb") or []):
        if not isinstance(usb, dict) or not all(isinstance(usb.get(k), str) and len(usb[k]) == 4 for k in ("vid", "pid")):
            raise UsageError(f"{source}: host.usb[{index}] must have 'vid' and 'pid' as 4-digit hex strings, e.g. {{\"vid\": \"2207\", \"pid\": \"0006\"}}")
    devices = data.get("devices", [])
    if devices is None:
        devices = []
    if not isinstance(devices, list):
        raise UsageError(f"{source}: 'devices' must be a list")
    for index, device in enumerate(devices):
        if not isinstance(device, dict):
            raise UsageError(f"{source}: devices[{index}] must be an object")
        _check_fields(device, _DEVICE_FIELDS, f"devices[{index}]", source)
    return data


def load_facts(path) -> dict:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except IsADirectoryError:
        raise UsageError(f"facts file {path} is a directory; expected a JSON file written by --save-facts") from None
    except FileNotFoundError:
        raise UsageError(f"facts file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read facts file {path}: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"facts file {path} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    return validate_facts(data, str(path))


def atomic_write_text(path, text: str) -> None:
    """Write via a temp file in the same directory + fsync + rename: never a half-written file."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def save_facts(facts: dict, path) -> None:
    atomic_write_text(path, json.dumps(facts, indent=2, sort_keys=True, default=str) + "\n")
