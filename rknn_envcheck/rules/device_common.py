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
