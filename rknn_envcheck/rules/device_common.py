"""What the device checks share: the vendor same-version sources and how a device fact was read. Pure."""
from __future__ import annotations

QS_CONSISTENT = "QS-1.6.0 §3.4 Quick Start 1.6.0 §3.4.2: RKNN Server, Runtime and RKNN-Toolkit2 versions must be consistent"
TS_CONSISTENT = "TS-1.7.5 §2: use the same version of RKNN Toolkit and RKNPU (Table 8-1)"


def _how(device: dict, field: str) -> str:
    return (device.get("how") or {}).get(field, "")


def _raw(device: dict, field: str) -> list[str]:
    raw = (device.get("raw") or {}).get(field)
    return [f"raw: {raw}"] if raw else []


def _why_missing(device: dict, field: str) -> str:
    return (device.get("errors") or {}).get(field, "not observed")


# How the board probe reads each version (boards/ runs these in its one shell round trip): the
# `how` of a row whose facts carry none, and the command a user runs to look again.
PROBE_HOW = {
    "rknn_server": "strings /usr/bin/rknn_server | grep -E 'build[:@]|version'",
    "librknn_runtime": "strings <runtime library> | grep -E 'build[:@]|version'",
    "npu_driver": "dmesg | grep -i -E 'galcore|rknpu'; cat /sys/kernel/debug/rknpu/version",
    "chip": "/proc/device-tree/compatible",
}


def how_read(device: dict, field: str) -> str:
    """How a device fact was read: the facts' own `how`, else what the probe runs for it."""
    return _how(device, field) or PROBE_HOW.get(field, "")
