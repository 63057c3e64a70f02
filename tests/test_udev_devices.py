"""Connected Rockchip devices from a fake sysfs tree, and who can open their nodes."""
from __future__ import annotations

import grp
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from rknn_envcheck.udev.devices import connected_devices, ordinary_user_access
from test_udev_scan import make_tree

PLUGDEV = grp.getgrnam("plugdev").gr_gid if any(g.gr_name == "plugdev" for g in grp.getgrall()) else None


def unprivileged_python() -> list[str] | None:
    """A command prefix running this Python as user nobody, or None where that is impossible."""
    if os.geteuid() != 0:
        return None
    for prefix in (["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"], ["runuser", "-u", "nobody", "--"]):
        if shutil.which(prefix[0]):
            probe = subprocess.run([*prefix, sys.executable, "-c", "import os, rknn_envcheck; print(os.geteuid())"],
                                   capture_output=True, text=True, timeout=30)
            if probe.returncode == 0 and probe.stdout.strip() != "0":
                return [*prefix, sys.executable]
    return None


@pytest.fixture
def public_tmp():
    """A temp dir user nobody can traverse (pytest's tmp_path lives under a 0700 directory)."""
    path = Path(tempfile.mkdtemp(prefix="rknn-udev-"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_lists_only_rockchip_devices_with_node_facts(tmp_path):
    make_tree(tmp_path, devices=[
        {"bus": 1, "dev": 5, "pid": "0006", "node_mode": 0o660, "node_gid": PLUGDEV or 0},
        {"bus": 1, "dev": 7, "vid": "1d6b", "pid": "0002", "node_mode": 0o664},
        {"bus": 3, "dev": 75, "pid": "1808", "node_mode": None},
    ])
    (tmp_path / "sys/bus/usb/devices/1-5:1.0").mkdir()  # interface directories carry no idVendor
    devices = connected_devices(tmp_path)
    assert [(d["pid"], d["busnum"], d["devnum"]) for d in devices] == [("0006", "1", "5"), ("1808", "3", "75")]
    adb = devices[0]
    assert adb["node"] == str(tmp_path / "dev/bus/usb/001/005") and adb["node_exists"]
    assert adb["node_mode"] == "0660" and adb["node_owner"] == "root"
    if os.geteuid() == 0:
        assert adb["can_open"] is True  # root opens anything; the non-root answer is tested below
    ntb = devices[1]
    assert ntb["node_exists"] is False and ntb["node"].endswith("dev/bus/usb/003/075")
    assert ordinary_user_access(ntb, {"plugdev"})[0] is None


@pytest.mark.skipif(PLUGDEV is None, reason="no plugdev group on this system")
def test_ordinary_user_access_from_node_mode_and_group(tmp_path):
    make_tree(tmp_path, devices=[
        {"bus": 1, "dev": 5, "pid": "0006", "node_mode": 0o660, "node_gid": PLUGDEV},
        {"bus": 1, "dev": 6, "pid": "0018", "node_mode": 0o666},
        {"bus": 1, "dev": 8, "pid": "1808", "node_mode": 0o664},
    ])
    group_dev, world_dev, default_dev = connected_devices(tmp_path)
    assert ordinary_user_access(group_dev, {"plugdev"})[0] is True
    ok, why = ordinary_user_access(group_dev, {"users"})
    assert ok is False and "only root" in why
    assert ordinary_user_access(world_dev, set())[0] is True
    ok, why = ordinary_user_access(default_dev, {"plugdev"})
    assert ok is False and "0664 root:root" in why


def test_can_open_is_answered_for_the_calling_user(public_tmp):
    prefix = unprivileged_python()
    if prefix is None:
        pytest.skip("cannot run a process as user nobody here (not root, or no setpriv/runuser)")
    make_tree(public_tmp, devices=[
        {"bus": 2, "dev": 3, "pid": "0006", "node_mode": 0o666},
        {"bus": 2, "dev": 4, "pid": "1808", "node_mode": 0o660},
    ])
    for sub in public_tmp.rglob("*"):
        if sub.is_dir():
            os.chmod(sub, 0o755)
    code = ("import json, sys; from rknn_envcheck.udev.devices import connected_devices; "
            "print(json.dumps([d['can_open'] for d in connected_devices(sys.argv[1])]))")
    proc = subprocess.run([*prefix, "-c", code, str(public_tmp)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [True, False]
    # ...while root may open both.
    assert [d["can_open"] for d in connected_devices(public_tmp)] == [True, True]


def test_acl_entries_are_reported(tmp_path):
    setfacl = shutil.which("setfacl")
    make_tree(tmp_path, devices=[{"bus": 1, "dev": 9, "pid": "0006", "node_mode": 0o660}])
    node = tmp_path / "dev/bus/usb/001/009"
    if setfacl is None or subprocess.run([setfacl, "-m", "u:nobody:rw", str(node)], capture_output=True).returncode != 0:
        pytest.skip("setfacl not available or ACLs unsupported on this filesystem")
    dev = connected_devices(tmp_path)[0]
    assert "user nobody" in dev["node_acl"]
    assert ordinary_user_access(dev, set())[0] is True
