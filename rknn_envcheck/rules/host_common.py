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


def read_python_version(host: dict):
    """The command that observes the judged interpreter's version (`/venv/bin/python --version`),
    for every row that needs it when the facts lack it or hold something that is not a version."""
    from rknn_envcheck.shellcmd import cmd

    exe = (host.get("python") or {}).get("executable") if isinstance(host.get("python"), dict) else None
    return cmd(str(exe) if exe else "python3", "--version")


def python_version_shown(host: dict) -> str:
    """host.python.version as observed, for a message: `'3.x'`, or `not observed`."""
    python = host.get("python") if isinstance(host.get("python"), dict) else {}
    version = python.get("version")
    return "not observed" if version in (None, "") else repr(version)


def python_unknown_fix(host: dict):
    """Read the Python version, then judge again with facts that hold it."""
    from rknn_envcheck.report import Fix
    from rknn_envcheck.shellcmd import cmd

    exe = (host.get("python") or {}).get("executable") if isinstance(host.get("python"), dict) else None
    return Fix("read the interpreter's version, then judge it again (the host probe records it)",
               [read_python_version(host), cmd("rknn-envcheck", "host", *(["--python", str(exe)] if exe else []))])
