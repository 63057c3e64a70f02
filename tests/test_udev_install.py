"""`udev --install` in temp roots: every mode, read-back, idempotency, backup, refusals, reload."""
from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from rknn_envcheck.udev.install import install, udev_fix_commands
from rknn_envcheck.udev.render_rule import RULE_FILE_NAME, parse_rule_keys, render_rules
from test_udev_devices import PLUGDEV, public_tmp, unprivileged_python  # noqa: F401 - fixture
from test_udev_scan import make_tree

TARGET = Path("etc/udev/rules.d") / RULE_FILE_NAME
EXPECTED_KEYS = {
    "uaccess": {"SUBSYSTEM==": "usb", "ATTR{idVendor}==": "2207", "MODE=": "0660", "GROUP=": "plugdev", "TAG+=": "uaccess"},
    "group": {"SUBSYSTEM==": "usb", "ATTR{idVendor}==": "2207", "MODE=": "0660", "GROUP=": "plugdev"},
    "world": {"SUBSYSTEM==": "usb", "ATTR{idVendor}==": "2207", "MODE=": "0666"},
}


def with_group_file(root: Path, *groups: str) -> Path:
    (root / "etc").mkdir(parents=True, exist_ok=True)
    (root / "etc/group").write_text("".join(f"{g}:x:{100 + i}:\n" for i, g in enumerate(groups)))
    return root


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("mode", ["uaccess", "group", "world"])
def test_each_mode_writes_a_rule_that_parses_back(tmp_path, mode):
    root = with_group_file(make_tree(tmp_path), "plugdev")
    out = install(root, mode=mode, group="plugdev")
    assert out.exit_code == 0 and out.action == "written", out.lines
    target = root / TARGET
    text = target.read_text()
    assert parse_rule_keys(text) == [EXPECTED_KEYS[mode]]
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert leftovers(target.parent) == []
    assert any("not reloading this machine's udev" in line for line in out.lines)  # --root: live udev untouched


def test_world_mode_is_the_vendor_rule_verbatim(tmp_path):
    install(make_tree(tmp_path), mode="world")
    rules = [l for l in (tmp_path / TARGET).read_text().splitlines() if l and not l.startswith("#")]
    assert rules == ['SUBSYSTEM=="usb", ATTR{idVendor}=="2207", MODE="0666"']


def test_second_install_changes_nothing(tmp_path):
    root = with_group_file(make_tree(tmp_path), "plugdev")
    install(root)
    target = root / TARGET
    before = target.stat()
    out = install(root)
    assert out.action == "unchanged" and out.exit_code == 0
    assert any("already installed, nothing changed" in line for line in out.lines)
    after = target.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert sorted(p.name for p in target.parent.iterdir()) == [RULE_FILE_NAME]


def test_different_existing_file_is_backed_up_and_named(tmp_path):
    root = with_group_file(make_tree(tmp_path), "plugdev")
    target = root / TARGET
    target.write_text('SUBSYSTEM=="usb", ATTR{idVendor}=="2207", MODE="0666"\n')
    out = install(root, mode="group")
    assert out.action == "written" and out.backup
    backup = Path(out.backup)
    assert backup.parent == target.parent and not backup.name.endswith(".rules")  # udev ignores it
    assert backup.read_text() == 'SUBSYSTEM=="usb", ATTR{idVendor}=="2207", MODE="0666"\n'
    assert any(out.backup in line for line in out.lines)
    assert parse_rule_keys(target.read_text()) == [EXPECTED_KEYS["group"]]
    # Switching mode again keeps a second, distinct backup.
    out2 = install(root, mode="world")
    assert out2.backup and out2.backup != out.backup and Path(out2.backup).read_text() == render_rules("group", "plugdev")


def test_dry_run_prints_file_and_commands_and_changes_nothing(tmp_path):
    root = make_tree(tmp_path)
    (root / TARGET).write_text("# old\n")
    out = install(root, dry_run=True)
    assert out.action == "dry-run" and out.exit_code == 0
    text = "\n".join(out.lines)
    assert 'MODE="0660", GROUP="plugdev", TAG+="uaccess"' in text
    assert "udevadm control --reload-rules" in text
    assert "udevadm trigger --subsystem-match=usb --attr-match=idVendor=2207" in text
    assert ".bak-" in text
    assert (root / TARGET).read_text() == "# old\n"
    assert sorted(p.name for p in (root / TARGET).parent.iterdir()) == [RULE_FILE_NAME]
    # "To do it" is the sudo line the status report's fix shows (shellcmd.udev_commands), as root too
    to_do = [line for line in out.lines if line.startswith("To do it: ")]
    status_fix = udev_fix_commands(str(root))[1]
    assert to_do == [f"To do it: {status_fix}"], (to_do, status_fix)


def test_missing_target_dir_is_a_clear_error(tmp_path):
    out = install(tmp_path)
    assert out.exit_code == 1 and out.action == "failed"
    assert "does not exist" in out.lines[0] and "Nothing was written" in out.lines[0]
    assert not (tmp_path / "etc").exists()


def test_parent_that_is_a_regular_file(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/udev").write_text("not a directory")
    out = install(tmp_path)
    assert out.exit_code == 1 and "is not a directory" in out.lines[0]
    assert (tmp_path / "etc/udev").read_text() == "not a directory"


@pytest.fixture
def read_only_rules_dir(tmp_path):
    """etc/udev/rules.d as a read-only tmpfs holding an old rules file (root ignores chmod, not EROFS)."""
    if os.geteuid() != 0:
        pytest.skip("mounting needs root")
    make_tree(tmp_path)
    rules_dir = tmp_path / "etc/udev/rules.d"
    if subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(rules_dir)], capture_output=True).returncode != 0:
        pytest.skip("cannot mount tmpfs here")
    try:
        (rules_dir / RULE_FILE_NAME).write_text("# old rule\n")
        if subprocess.run(["mount", "-o", "remount,ro", str(rules_dir)], capture_output=True).returncode != 0:
            pytest.skip("cannot remount read-only here")
        yield tmp_path
    finally:
        subprocess.run(["umount", str(rules_dir)], capture_output=True)


def test_read_only_dir_leaves_old_file_untouched(read_only_rules_dir):
    root = read_only_rules_dir
    out = install(root, mode="world")
    assert out.exit_code == 1 and out.action == "failed"
    assert "Read-only file system" in out.lines[-1] and "untouched" in out.lines[-1]
    target = root / TARGET
    assert target.read_text() == "# old rule\n"
    assert sorted(p.name for p in target.parent.iterdir()) == [RULE_FILE_NAME]


def test_not_root_prints_sudo_line_and_exits_2_as_nobody(public_tmp):
    prefix = unprivileged_python()
    if prefix is None:
        pytest.skip("cannot run a process as user nobody here")
    root = make_tree(public_tmp)
    for sub in [root, *root.rglob("*")]:
        if sub.is_dir():
            os.chmod(sub, 0o755)
    proc = subprocess.run([*prefix, "-m", "rknn_envcheck", "udev", "--install", "--mode", "group", "--root", str(root)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "needs root" in proc.stderr
    sudo_line = [l.strip() for l in proc.stderr.splitlines() if l.strip().startswith("sudo ")]
    assert sudo_line and sudo_line[0].endswith(f"udev --install --mode group --root {root}")
    assert list((root / "etc/udev/rules.d").iterdir()) == []


def test_not_root_in_process(tmp_path, monkeypatch):
    """Same refusal where no unprivileged user exists: geteuid and the write check patched."""
    root = make_tree(tmp_path)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, m: False if Path(p) == root / "etc/udev/rules.d" else real_access(p, m))
    out = install(root)
    assert out.exit_code == 2 and out.action == "refused"
    assert out.lines[-1].strip().startswith("sudo ") and out.lines[-1].strip().endswith(f"udev --install --root {root}")
    assert not (root / TARGET).exists()


@pytest.mark.parametrize("platform,needle", [("win32", "zadig"), ("win32", "WinUSB"), ("darwin", "npu_transfer_proxy")])
def test_not_linux_explains(tmp_path, platform, needle):
    out = install(make_tree(tmp_path), platform=platform)
    assert out.exit_code == 2 and out.action == "not-linux"
    text = " ".join(out.lines)
    assert "only on Linux" in text and needle in text
    assert not (tmp_path / TARGET).exists()


def test_udevadm_missing_still_writes_and_rechecks(tmp_path):
    root = with_group_file(make_tree(tmp_path, devices=[{"bus": 1, "dev": 4, "pid": "0006", "node_mode": 0o664}]), "plugdev")
    out = install(root, udevadm=None)
    assert out.action == "written" and (root / TARGET).is_file()
    assert any("udevadm was not found" in line for line in out.lines)
    assert out.reloaded is False and out.replug_needed is True
    assert any("Replug needed" in line for line in out.lines)


def fake_udevadm(tmp_path: Path, exit_code: int = 0, stderr: str = "") -> tuple[Path, Path]:
    """udevd cannot run in this container, so the udevadm client is replaced by a recorder."""
    log = tmp_path / "udevadm.log"
    script = tmp_path / "udevadm"
    script.write_text(f"#!/bin/sh\necho \"$@\" >> {log}\necho '{stderr}' >&2\nexit {exit_code}\n")
    script.chmod(0o755)
    return script, log


def test_reload_runs_vendor_limited_trigger_then_rechecks(tmp_path):
    root = with_group_file(make_tree(tmp_path / "root", devices=[
        {"bus": 1, "dev": 4, "pid": "0006", "node_mode": 0o660, "node_gid": PLUGDEV or 0}]), "plugdev")
    script, log = fake_udevadm(tmp_path)
    out = install(root, udevadm=str(script))
    assert log.read_text().splitlines() == [
        "control --reload-rules",
        "trigger --subsystem-match=usb --attr-match=idVendor=2207",
        "settle --timeout=10",
    ]
    assert out.reloaded is True
    if PLUGDEV is not None:
        assert out.replug_needed is False and any("no replug needed" in line for line in out.lines)


def test_failed_reload_says_so_and_asks_for_replug(tmp_path):
    root = with_group_file(make_tree(tmp_path / "root", devices=[{"bus": 1, "dev": 4, "pid": "1808", "node_mode": 0o664}]), "plugdev")
    script, log = fake_udevadm(tmp_path, 1, "Failed to send reload request: No such file or directory")
    out = install(root, udevadm=str(script))
    text = "\n".join(out.lines)
    assert log.read_text().splitlines() == ["control --reload-rules"]  # stops at the first failure
    assert "Failed to send reload request" in text and "udev did not reload" in text
    assert out.reloaded is False and out.replug_needed is True
    assert (root / TARGET).is_file()


def test_no_device_connected_needs_no_replug(tmp_path):
    root = with_group_file(make_tree(tmp_path / "root"), "plugdev")
    script, _ = fake_udevadm(tmp_path)
    out = install(root, udevadm=str(script))
    assert out.replug_needed is False and any("No Rockchip" in line for line in out.lines)


def test_group_mode_with_missing_group_refuses(tmp_path):
    root = with_group_file(make_tree(tmp_path), "users")
    out = install(root, mode="group", group="plugdev")
    assert out.exit_code == 2 and "sudo groupadd plugdev" in "\n".join(out.lines)
    assert not (root / TARGET).exists()


def test_uaccess_mode_with_missing_group_drops_group(tmp_path):
    root = with_group_file(make_tree(tmp_path), "users")
    out = install(root, mode="uaccess", group="plugdev")
    assert out.action == "written"
    assert parse_rule_keys((root / TARGET).read_text()) == [
        {"SUBSYSTEM==": "usb", "ATTR{idVendor}==": "2207", "MODE=": "0660", "TAG+=": "uaccess"}]


def test_written_file_is_read_by_the_status_scan(tmp_path):
    from rknn_envcheck.udev.grants import evaluate, user_access
    from rknn_envcheck.udev.scan import active_files, load_rules_files

    root = with_group_file(make_tree(tmp_path), "plugdev")
    install(root, mode="uaccess")
    files = [f for f in active_files(load_rules_files(root)) if f.mentions_vendor]
    eff = evaluate(files, "2207", "0006")
    assert user_access(eff, {"plugdev"}, on_seat=False)[0] is True
    assert user_access(eff, set(), on_seat=True)[0] is True
    assert user_access(eff, set(), on_seat=False)[0] is False


def test_fix_commands_for_the_doctor():
    commands = udev_fix_commands()
    assert commands[0].endswith("udev --install --dry-run")
    assert commands[1].startswith("sudo ") and commands[1].endswith("udev --install")
    executable = commands[1].split()[1]
    assert os.path.isabs(executable)  # sudo's secure_path rarely includes the venv


def test_later_vendor_file_is_pointed_out(tmp_path):
    root = with_group_file(make_tree(tmp_path, {"etc/udev/rules.d/91-rk1808-ai-cs.rules":
                                                'SUBSYSTEM=="usb", ATTR{idVendor}=="2207", MODE="0666"\n'}), "plugdev")
    out = install(root)
    note = [line for line in out.lines if line.startswith("Note:")]
    assert note and "91-rk1808-ai-cs.rules:1" in note[0] and "'0666'" in note[0] and "sudo rm" in note[0]
    assert (root / "etc/udev/rules.d/91-rk1808-ai-cs.rules").is_file()  # reported, never deleted
    # --mode world grants the same MODE: nothing to point out.
    out = install(root, mode="world")
    assert not [line for line in out.lines if line.startswith("Note:")]


def test_shipped_matrix_usb_ids_and_vendor_rule_agree():
    from rknn_envcheck.matrix import load_matrix
    from rknn_envcheck.udev.render_rule import VENDOR_RULE

    matrix = load_matrix()
    pids = {r["pid"] for r in matrix.usb_ids() if r["vid"] == "2207"}
    assert {"0006", "1808", "0018"} <= pids
    text = render_rules("uaccess", "plugdev", matrix.usb_ids())
    for pid in ("0006", "1808", "0018"):
        assert f"2207:{pid}" in text
    assert [r["rule"] for r in matrix.rows("udev_rule")] == [VENDOR_RULE]


def test_masked_target_is_left_alone(tmp_path):
    root = make_tree(tmp_path)
    (root / TARGET).symlink_to("/dev/null")
    out = install(root)
    assert out.exit_code == 1 and "not a regular file" in out.lines[0]
    assert os.readlink(root / TARGET) == "/dev/null"


def test_dry_run_says_when_the_install_would_fail(tmp_path, capsys):
    from rknn_envcheck.cli import main

    code = main(["udev", "--install", "--dry-run", "--root", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1 and "would fail" in out and "rules.d does not exist" in out
