"""udev rules scanning and evaluation against fake root trees (never the real /etc)."""
from __future__ import annotations

import os
from pathlib import Path


from rknn_envcheck.udev.grants import evaluate, user_access
from rknn_envcheck.udev.scan import active_files, load_rules_files, scan_rules
from rknn_envcheck.udev.syntax import parse_rules

VENDOR_RULE = 'SUBSYSTEM=="usb", ATTR{idVendor}=="2207", MODE="0666"\n'
SEAT_LATE = 'TAG=="uaccess", ENV{MAJOR}!="", RUN{builtin}+="uaccess"\n'
# Shape of android-udev-rules' 51-android.rules: the grant is on a line that never says 2207.
ANDROID_RULES = """\
ACTION!="add", GOTO="android_usb_rules_end"
SUBSYSTEM!="usb", GOTO="android_usb_rules_end"
ENV{DEVTYPE}!="usb_device", GOTO="android_usb_rules_end"
# Google
ATTR{idVendor}!="18d1", GOTO="not_Google"
ENV{adb_user}="yes"
GOTO="android_usb_rule_match"
LABEL="not_Google"
# Rockchip
ATTR{idVendor}!="2207", GOTO="not_Rockchip"
ENV{adb_user}="yes"
GOTO="android_usb_rule_match"
LABEL="not_Rockchip"
GOTO="android_usb_rules_end"
LABEL="android_usb_rule_match"
ENV{adb_user}=="yes", MODE="0660", GROUP="adbusers", TAG+="uaccess"
LABEL="android_usb_rules_end"
"""


def make_tree(root: Path, files: dict[str, str] | None = None, devices: list[dict] | None = None,
              seat_rules: bool = True) -> Path:
    """A fake / : rules files, sysfs device dirs and /dev/bus/usb nodes (regular files with the given mode)."""
    (root / "etc/udev/rules.d").mkdir(parents=True, exist_ok=True)
    (root / "sys/bus/usb/devices").mkdir(parents=True, exist_ok=True)
    if seat_rules:
        (root / "lib/udev/rules.d").mkdir(parents=True, exist_ok=True)
        (root / "lib/udev/rules.d/73-seat-late.rules").write_text(SEAT_LATE)
    for rel, text in (files or {}).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for dev in devices or []:
        sysdir = root / "sys/bus/usb/devices" / dev.get("name", f"{dev['bus']}-{dev['dev']}")
        sysdir.mkdir(parents=True)
        (sysdir / "idVendor").write_text(dev.get("vid", "2207") + "\n")
        (sysdir / "idProduct").write_text(dev.get("pid", "0006") + "\n")
        (sysdir / "busnum").write_text(f"{dev['bus']}\n")
        (sysdir / "devnum").write_text(f"{dev['dev']}\n")
        if dev.get("node_mode") is not None:
            node = root / "dev/bus/usb" / f"{dev['bus']:03d}" / f"{dev['dev']:03d}"
            node.parent.mkdir(parents=True, exist_ok=True)
            node.write_text("")
            os.chmod(node, dev["node_mode"])
            os.chown(node, 0, dev.get("node_gid", 0))
    return root


def vendor_active(root):
    return [f for f in active_files(load_rules_files(root)) if f.mentions_vendor]


def test_parse_continuation_operators_and_errors():
    rules = parse_rules('# c\n\nSUBSYSTEM=="usb", \\\n  ATTRS{idVendor}=="2207", MODE:="0660"\nthis is not a rule\n')
    assert [r.lineno for r in rules] == [3, 5]
    first = rules[0]
    assert [(i.name, i.op, i.value) for i in first.items] == [
        ("SUBSYSTEM", "==", "usb"), ("ATTRS{idVendor}", "==", "2207"), ("MODE", ":=", "0660")]
    assert rules[1].error and not rules[1].items


def test_vendor_rule_in_etc(tmp_path):
    make_tree(tmp_path, {"etc/udev/rules.d/91-rk1808-ai-cs.rules": VENDOR_RULE})
    scanned = scan_rules(tmp_path)
    assert [f["name"] for f in scanned] == ["91-rk1808-ai-cs.rules"]
    line = scanned[0]["lines"][0]
    assert line["lineno"] == 1 and line["product"] is None and line["vendor_op"] == "=="
    assert line["grants"] == {"MODE": "0666", "GROUP": None, "TAG": None, "OWNER": None}
    assert scanned[0]["overridden_by"] is None
    ok, why = user_access(evaluate(vendor_active(tmp_path), "2207", "0006"), set(), on_seat=False)
    assert ok and "every user" in why


def test_group_rule_with_product_and_membership(tmp_path):
    rule = 'SUBSYSTEM=="usb", ATTR{idVendor}=="2207", ATTR{idProduct}=="0006", MODE="0660", GROUP="plugdev"\n'
    make_tree(tmp_path, {"lib/udev/rules.d/60-rk.rules": rule})
    line = scan_rules(tmp_path)[0]["lines"][0]
    assert line["product"] == "0006" and line["grants"]["GROUP"] == "plugdev"
    files = vendor_active(tmp_path)
    assert user_access(evaluate(files, "2207", "0006"), {"plugdev"}, False)[0] is True
    ok, why = user_access(evaluate(files, "2207", "0006"), {"users"}, False)
    assert ok is False and "not in group plugdev" in why
    # The rule is limited to 0006: an NTB-mode board (1808) gets nothing from it.
    ok, why = user_access(evaluate(files, "2207", "1808"), {"plugdev"}, True)
    assert ok is False and "no rule mentioning 2207 sets MODE" in why


def test_no_rules(tmp_path):
    make_tree(tmp_path)
    assert scan_rules(tmp_path) == []
    assert user_access(evaluate([], "2207", "0006"), {"plugdev"}, True)[0] is False


def test_etc_overrides_lib_and_only_etc_counts(tmp_path):
    make_tree(tmp_path, {
        "lib/udev/rules.d/51-android.rules": ANDROID_RULES,
        "etc/udev/rules.d/51-android.rules": 'SUBSYSTEM=="usb", ATTR{idVendor}=="2207", MODE="0600"\n',
    })
    scanned = {f["path"]: f for f in scan_rules(tmp_path)}
    lib = scanned[str(tmp_path / "lib/udev/rules.d/51-android.rules")]
    assert lib["overridden_by"] == str(tmp_path / "etc/udev/rules.d/51-android.rules")
    eff = evaluate(vendor_active(tmp_path), "2207", "0006")
    assert eff.mode.value == "0600" and eff.group is None and eff.uaccess is None


def test_mask_hides_vendor_file(tmp_path):
    make_tree(tmp_path, {"lib/udev/rules.d/91-rk1808-ai-cs.rules": VENDOR_RULE})
    (tmp_path / "etc/udev/rules.d/91-rk1808-ai-cs.rules").symlink_to("/dev/null")
    scanned = scan_rules(tmp_path)
    assert {f["name"] for f in scanned} == {"91-rk1808-ai-cs.rules"}
    assert any(f["masked"] for f in scanned)
    assert vendor_active(tmp_path) == []


def test_android_goto_env_chain_grants(tmp_path):
    make_tree(tmp_path, {"lib/udev/rules.d/51-android.rules": ANDROID_RULES})
    eff = evaluate(vendor_active(tmp_path), "2207", "0006")
    assert eff.mode.value == "0660" and eff.group.value == "adbusers"
    assert eff.uaccess is not None and eff.uaccess.where.endswith("51-android.rules:16")
    # The same file for a non-Rockchip, non-Google vendor jumps past the grant.
    other = evaluate(vendor_active(tmp_path), "1234", "0001")
    assert other.mode is None and other.uaccess is None


def test_later_file_wins_and_colon_equals_is_final(tmp_path):
    make_tree(tmp_path, {
        "lib/udev/rules.d/50-a.rules": 'ATTR{idVendor}=="2207", MODE="0666"\n',
        "etc/udev/rules.d/60-b.rules": 'ATTR{idVendor}=="2207", MODE="0600"\n',
    })
    assert evaluate(vendor_active(tmp_path), "2207", "0006").mode.value == "0600"
    (tmp_path / "lib/udev/rules.d/50-a.rules").write_text('ATTR{idVendor}=="2207", MODE:="0666"\n')
    assert evaluate(vendor_active(tmp_path), "2207", "0006").mode.value == "0666"


def test_uaccess_after_seat_late_is_too_late(tmp_path):
    make_tree(tmp_path, {"etc/udev/rules.d/91-rk.rules": 'ATTR{idVendor}=="2207", TAG+="uaccess"\n'})
    eff = evaluate(vendor_active(tmp_path), "2207", "0006")
    assert eff.uaccess is None and eff.uaccess_too_late
    ok, why = user_access(eff, set(), on_seat=True)
    assert ok is False and "never applied" in why


def test_uaccess_needs_seat_and_seat_rules(tmp_path):
    make_tree(tmp_path, {"etc/udev/rules.d/70-rk.rules": 'ATTR{idVendor}=="2207", MODE="0660", TAG+="uaccess"\n'})
    eff = evaluate(vendor_active(tmp_path), "2207", "0006")
    assert user_access(eff, set(), on_seat=True)[0] is True
    assert user_access(eff, set(), on_seat=False)[0] is False
    ok, why = user_access(eff, set(), on_seat=True, seat_rules_present=False)
    assert ok is False and "73-seat-late.rules" in why


def test_unknown_match_keys_are_assumed_and_listed(tmp_path):
    make_tree(tmp_path, {"etc/udev/rules.d/60-rk.rules": 'KERNEL=="1-*", ATTR{idVendor}=="2207", MODE="0666"\n'})
    eff = evaluate(vendor_active(tmp_path), "2207", "0006")
    assert eff.mode.value == "0666"
    assert any('KERNEL=="1-*"' in a for a in eff.assumptions)


def test_negated_vendor_match_does_not_grant(tmp_path):
    make_tree(tmp_path, {"etc/udev/rules.d/60-x.rules": 'ATTR{idVendor}!="2207", MODE="0666"\n'})
    assert evaluate(vendor_active(tmp_path), "2207", "0006").mode is None


def test_merged_usr_lists_a_file_once(tmp_path):
    make_tree(tmp_path, {"usr/lib/udev/rules.d/60-rk.rules": VENDOR_RULE}, seat_rules=False)
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib/udev").symlink_to(tmp_path / "usr/lib/udev")
    names = [f["path"] for f in scan_rules(tmp_path)]
    assert names == [str(tmp_path / "usr/lib/udev/rules.d/60-rk.rules")]


def test_serial_containing_2207_is_not_a_vendor_mention(tmp_path):
    make_tree(tmp_path, {"etc/udev/rules.d/60-x.rules": 'ATTR{serial}=="a22071b", MODE="0666"\n'})
    assert scan_rules(tmp_path) == []
