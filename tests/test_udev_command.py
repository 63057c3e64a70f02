"""`rknn-envcheck udev` status output against sets of rules files and fake sysfs trees."""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from rknn_envcheck.cli import main
from test_udev_devices import PLUGDEV, public_tmp, unprivileged_python  # noqa: F401 - fixture
from test_udev_scan import ANDROID_RULES, VENDOR_RULE, make_tree

GROUP_RULE = 'SUBSYSTEM=="usb", ATTR{idVendor}=="2207", MODE="0660", GROUP="plugdev"\n'
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="status answers for an ordinary user only when run as root")


def status(root, capsys, *extra) -> tuple[int, dict]:
    code = main(["udev", "--root", str(root), "--json", *extra])
    out = capsys.readouterr().out
    report = json.loads(out)
    return code, {c["id"]: c for c in report["checks"]}


@needs_root
def test_vendor_0666_rule(tmp_path, capsys):
    make_tree(tmp_path, {"etc/udev/rules.d/91-rk1808-ai-cs.rules": VENDOR_RULE})
    code, checks = status(tmp_path, capsys)
    rules = checks["udev.rules"]
    assert rules["status"] == "ok" and rules["subject"] == "udev"
    assert "every user" in rules["message"] and "--install" in rules["message"]
    assert "91-rk1808-ai-cs.rules:1" in rules["observed"] and 'MODE="0666"' in rules["observed"]
    assert checks["udev.devices"]["status"] == "skipped"
    assert code == 0


@needs_root
def test_group_rule(tmp_path, capsys):
    make_tree(tmp_path, {"lib/udev/rules.d/60-rk.rules": GROUP_RULE})
    code, checks = status(tmp_path, capsys)
    assert checks["udev.rules"]["status"] == "ok" and "group plugdev" in checks["udev.rules"]["message"]
    code, checks = status(tmp_path, capsys, "--group", "dialout")  # an ordinary user in another group
    assert checks["udev.rules"]["status"] == "warn"
    assert "not in group plugdev" in checks["udev.rules"]["message"]


def test_no_rules(tmp_path, capsys):
    make_tree(tmp_path)
    code, checks = status(tmp_path, capsys)
    rules = checks["udev.rules"]
    assert rules["status"] == "warn" and "no udev rules file mentions vendor 2207" in rules["message"]
    # the fix installs into the same tree the status was read from
    assert any(c.endswith(f"udev --install --root {tmp_path}") and c.startswith("sudo ") for c in (x["display"] for x in rules["fix"]["commands"]))
    assert code == 0


def test_etc_file_overriding_lib_file(tmp_path, capsys):
    make_tree(tmp_path, {
        "lib/udev/rules.d/51-android.rules": ANDROID_RULES,
        "etc/udev/rules.d/51-android.rules": "# local copy without the Rockchip section\n"
                                             'SUBSYSTEM=="usb", ATTR{idVendor}=="18d1", MODE="0660", GROUP="adbusers"\n',
    })
    code, checks = status(tmp_path, capsys)
    override = checks["udev.override.51-android.rules"]
    assert override["status"] == "warn" and "no longer mentions 2207" in override["message"]
    assert checks["udev.rules"]["status"] == "warn"  # the /lib grant does not count


def test_etc_override_that_keeps_a_grant(tmp_path, capsys):
    make_tree(tmp_path, {
        "lib/udev/rules.d/91-rk1808-ai-cs.rules": VENDOR_RULE,
        "etc/udev/rules.d/91-rk1808-ai-cs.rules": GROUP_RULE,
    })
    _, checks = status(tmp_path, capsys)
    assert checks["udev.override.91-rk1808-ai-cs.rules"]["status"] == "ok"
    assert "/etc/udev/rules.d/91-rk1808-ai-cs.rules" in checks["udev.rules"]["observed"]
    assert 'MODE="0666"' not in checks["udev.rules"]["observed"].split("overridden")[-1]


def test_uaccess_in_a_late_file_is_flagged(tmp_path, capsys):
    make_tree(tmp_path, {"etc/udev/rules.d/91-rk.rules": 'SUBSYSTEM=="usb", ATTR{idVendor}=="2207", TAG+="uaccess"\n'})
    _, checks = status(tmp_path, capsys)
    assert checks["udev.uaccess_order"]["status"] == "warn"


@needs_root
@pytest.mark.skipif(PLUGDEV is None, reason="no plugdev group")
def test_devices_as_root(tmp_path, capsys):
    make_tree(tmp_path, {"etc/udev/rules.d/70-r.rules": GROUP_RULE}, devices=[
        {"bus": 1, "dev": 5, "pid": "0006", "node_mode": 0o660, "node_gid": PLUGDEV},
        {"bus": 1, "dev": 6, "pid": "1808", "node_mode": 0o664},
        {"bus": 1, "dev": 7, "pid": "0018", "node_mode": None},
    ])
    code, checks = status(tmp_path, capsys)
    ok, stale, missing = checks["udev.device.1-5"], checks["udev.device.1-6"], checks["udev.device.1-7"]
    assert ok["status"] == "ok" and ok["message"].count("root can open every device") == 1
    # The rules grant it but the node predates them: re-apply (trigger) or replug.
    assert stale["status"] == "warn" and "replug" in stale["fix"]["text"]
    assert "sudo udevadm trigger --subsystem-match=usb --attr-match=idVendor=2207" in [x["display"] for x in stale["fix"]["commands"]]
    assert "ADB" in ok["message"]  # labelled from matrices/usb.toml
    assert missing["status"] == "unknown"
    assert code == 3


def test_no_usb_bus_is_skipped_with_why_as_the_host_check_says(tmp_path, capsys):
    """No <root>/sys/bus/usb (a container, CI): nothing can be plugged in, so the listing is
    `skipped` with why — the host check's verdict for the same machine — not unknown/exit 3."""
    (tmp_path / "etc/udev/rules.d").mkdir(parents=True)
    (tmp_path / "etc/udev/rules.d/60-rk.rules").write_text(GROUP_RULE)
    code, checks = status(tmp_path, capsys)
    devices = checks["udev.devices"]
    assert devices["status"] == "skipped" and "no USB bus" in devices["message"]
    assert str(tmp_path / "sys/bus/usb/devices") in devices["how"]
    assert code != 3
    (tmp_path / "sys/bus/usb/devices").mkdir(parents=True)  # an empty bus: no host controller either
    code, checks = status(tmp_path, capsys)
    assert checks["udev.devices"]["status"] == "skipped" and "empty" in checks["udev.devices"]["how"]


def test_device_not_openable_by_a_normal_user_fails(public_tmp):
    prefix = unprivileged_python()
    if prefix is None:
        pytest.skip("cannot run a process as user nobody here")
    make_tree(public_tmp, devices=[{"bus": 2, "dev": 3, "pid": "0006", "node_mode": 0o660}])
    for sub in [public_tmp, *public_tmp.rglob("*")]:
        if sub.is_dir():
            os.chmod(sub, 0o755)
    proc = subprocess.run([*prefix, "-m", "rknn_envcheck", "udev", "--root", str(public_tmp), "--json"],
                          capture_output=True, text=True, timeout=60)
    checks = {c["id"]: c for c in json.loads(proc.stdout)["checks"]}
    dev = checks["udev.device.2-3"]
    assert dev["status"] == "fail" and "cannot open" in dev["message"] and "no permissions" in dev["message"]
    assert any("udev --install" in c for c in (x["display"] for x in dev["fix"]["commands"]))
    assert proc.returncode == 1


def test_text_output_names_files_and_fix(tmp_path, capsys):
    make_tree(tmp_path, {"etc/udev/rules.d/91-rk1808-ai-cs.rules": VENDOR_RULE})
    main(["udev", "--root", str(tmp_path), "-v"])
    out = capsys.readouterr().out
    assert "91-rk1808-ai-cs.rules" in out and "udev rules for Rockchip USB" in out


def test_install_then_status_in_one_run(tmp_path, capsys):
    make_tree(tmp_path)
    code = main(["udev", "--install", "--root", str(tmp_path)])
    out = capsys.readouterr().out
    assert "Wrote" in out and "udev rules for Rockchip USB" in out
    assert (tmp_path / "etc/udev/rules.d/70-rknn-envcheck-rockchip.rules").is_file()
    assert main(["udev", "--install", "--root", str(tmp_path)]) == 0
    assert "already installed, nothing changed" in capsys.readouterr().out


def test_install_json_keeps_stdout_json(tmp_path, capsys):
    make_tree(tmp_path)
    main(["udev", "--install", "--dry-run", "--root", str(tmp_path), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert any("Dry run" in n for n in report["notes"])


@pytest.mark.parametrize("argv,needle", [
    (["udev", "--dry-run"], "--dry-run only applies to --install"),
    (["udev", "--group", 'plug"dev'], "is not a valid group name"),
    (["udev", "--root", "/nonexistent-rknn-root"], "not a directory"),
])
def test_bad_flags_exit_2(argv, needle, capsys):
    assert main(argv) == 2
    assert needle in capsys.readouterr().err


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_status_off_linux_is_skipped_and_needs_no_posix_modules(tmp_path, monkeypatch, platform):
    """On Windows there is no grp/pwd: the modules must import and say "Linux only" without them."""
    import importlib
    import sys

    for name in ("grp", "pwd"):
        monkeypatch.setitem(sys.modules, name, None)  # makes `import grp` raise ImportError
    for name in [m for m in sys.modules if m.startswith("rknn_envcheck.udev")]:
        monkeypatch.delitem(sys.modules, name)
    status_mod = importlib.import_module("rknn_envcheck.udev.status")
    checks = status_mod.build_checks(tmp_path, platform=platform)
    assert [(c.id, c.status) for c in checks] == [("udev.platform", "skipped")]
    assert "only on Linux" in checks[0].message
