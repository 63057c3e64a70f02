"""`rknn-envcheck udev`: which udev rules let a non-root user open Rockchip (vendor 2207) USB
devices, and a safe installer for one that does.

scan.py reads the rules files in udev's order, grants.py evaluates them for a device,
devices.py lists connected devices from sysfs, render_rule.py writes the rule text, install.py
writes it atomically and reloads udev, status.py turns all of it into Checks.
"""
from __future__ import annotations


def udev_fix_commands(root="/") -> list:
    """Commands for the doctor's "no permissions" diagnostic (see install.udev_fix_commands)."""
    from rknn_envcheck.udev.install import udev_fix_commands as commands

    return commands(root)


__all__ = ["udev_fix_commands"]
