"""Shared helpers of the host rules (rules/host*.py): the judged interpreter's packages and pip.

Pure: they read the host facts only.
"""
from __future__ import annotations

from rknn_envcheck.rules.toolkit import canonical_name


def installed_packages(host: dict) -> dict[str, str]:
    """Installed distributions by canonical name → version string."""
    return {canonical_name(k): v for k, v in (host.get("packages") or {}).items()}


def how_package(host: dict, name: str) -> str:
    location = (host.get("package_locations") or {}).get(name)
    return f"installed metadata in {location}" if location else "installed distribution metadata"


def pip_argv(host: dict) -> list[str]:
    """The judged interpreter's pip, as the start of an argv (its path may hold spaces)."""
    exe = (host.get("python") or {}).get("executable")
    return [str(exe), "-m", "pip"] if exe else ["python3", "-m", "pip"]
