"""Checks for `rknn-envcheck udev`: rules files, their order, what they grant, connected devices.

Run as root, the question "can I open it" is moot (root opens every node), so the checks answer
for an ordinary user in the chosen group (default plugdev) at the local seat instead.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from rknn_envcheck.report import FAIL, OK, SKIPPED, UNKNOWN, WARN, Check, Fix
from rknn_envcheck.shellcmd import cmd
from rknn_envcheck.udev import grants as grants_mod
from rknn_envcheck.udev.devices import connected_devices, ordinary_user_access, usb_bus_state
from rknn_envcheck.udev.install import NOT_LINUX, RELOAD_COMMANDS, group_exists, udev_fix_commands
from rknn_envcheck.udev.render_rule import short_meaning
from rknn_envcheck.udev.scan import RULES_DIRS, active_files, load_rules_files, scan_rules

SUBJECT = "udev"
COMPONENT = "udev rules"
SOURCE = "TK platform-tools/update_rk_usb_rule/linux/update_rk1808_usb_rule.sh; seed §1.7.2 item 4"


def _user_groups() -> set[str]:
    import grp  # POSIX-only: this module must import on Windows to report "Linux only"

    names = set()
    for gid in set(os.getgroups()) | {os.getegid()}:
        try:
            names.add(grp.getgrgid(gid).gr_name)
        except KeyError:
            pass
    return names


def _user_name() -> str:
    import pwd

    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())


def _fix(root, extra: list | None = None, text: str = "", group: str | None = None) -> Fix:
    return Fix(text or "install a narrower rule than the vendor's (read it first with --dry-run), then replug the board",
               (extra or []) + udev_fix_commands(root, group))


def _missing_group_fix(root, group: str) -> Fix:
    """The rule was (or would be) written without GROUP because the group does not exist: running
    the same install again changes nothing — create the group first, or choose one that exists."""
    other_root = str(root) not in ("/", "")
    where = f"{Path(root) / 'etc' / 'group'}" if other_root else "/etc/group"
    groupadd = cmd("sudo", "groupadd", *(["--root", str(root)] if other_root else []), group)
    return Fix(f"group {group} does not exist ({where} has no such group), so the rule cannot grant it: create the group "
               f"(groupadd; then add users with usermod -aG {group} USER) and install again, or install with "
               "an existing group (--group plugdev)",
               [groupadd] + udev_fix_commands(root, group))


def _by_reason(rows) -> str:
    """`2207:0006 (adb), 2207:1808 (ntb): why` — one reason said once for every id it applies to."""
    grouped: dict[str, list[str]] = {}
    for row in rows:
        grouped.setdefault(row[3], []).append(_pid_label(row[0]))
    return "; ".join(f"{', '.join(labels)}: {why}" for why, labels in grouped.items())


def _how(root: Path) -> str:
    return "the *.rules files in " + ", ".join("/" + d for d in RULES_DIRS) + (f" under {root}" if str(root) != "/" else "") + \
        ", taken in udev's order (by file name; /etc replaces same-named files)"


def _summary(scanned: list[dict]) -> str:
    parts = []
    for f in scanned:
        if f["overridden_by"] or f["masked"]:
            parts.append(f"{f['path']} ({'masked' if f['masked'] else 'overridden by ' + f['overridden_by']})")
            continue
        for line in f["lines"]:
            granted = " ".join(f'{k}="{v}"' for k, v in line["grants"].items() if v is not None) or "no grant on this line"
            parts.append(f"{f['path']}:{line['lineno']} {granted}")
    return "; ".join(parts) or "no rules file mentions 2207"


def _pid_label(row: dict) -> str:
    return f"2207:{row['pid']} ({row.get('mode', '')})" if row.get("pid") else "2207:* (loader/other)"


def build_checks(root="/", group: str = "plugdev", usb_ids=None, platform: str | None = None,
                 planned: dict | None = None, as_root: bool | None = None) -> list[Check]:
    """`planned` {path: text}: judge the rules as if that file were written (the dry run predicts
    the re-check of `--install`); `as_root`: answer as root does (the dry run shows a sudo line)."""
    import sys

    root = Path(root)
    platform = platform or sys.platform
    if not platform.startswith("linux"):
        lines = NOT_LINUX.get(platform, ["udev rules exist only on Linux."])
        return [Check(id="udev.platform", title="udev rules (Linux only)", status=SKIPPED, component=COMPONENT,
                      subject=SUBJECT, observed=platform, how="sys.platform", expected="linux",
                      source="NPU drivers/common/usr/bin/start_usb.sh; seed §1.7.2 items 6-7", message=" ".join(lines))]

    as_root = os.geteuid() == 0 if as_root is None else as_root
    files = load_rules_files(root, planned)
    scanned = scan_rules(root, planned)
    vendor_files = [f for f in active_files(files) if f.mentions_vendor]
    seat_rules = any(f.name == grants_mod.SEAT_LATE_RULES for f in active_files(files))
    who_groups = {group} if as_root else _user_groups()
    who = (f"an ordinary user in group {group} at the local seat" if as_root else f"user {_user_name()}")
    known = [r for r in (usb_ids or []) if str(r.get("vid", "")).lower() == "2207"
             and re.fullmatch(r"[0-9a-fA-F]{4}", str(r.get("pid", "")))]
    pids = [r for r in {r["pid"].lower(): r for r in known}.values()] + [{"pid": None}]

    checks: list[Check] = []
    evidence = []
    for f in scanned:
        state = " (overridden by %s: udev does not read it)" % f["overridden_by"] if f["overridden_by"] else ""
        state += " (masked)" if f["masked"] else ""
        evidence.append(f"{f['path']}{state}")
        for line in f["lines"]:
            granted = ", ".join(f'{k}="{v}"' for k, v in line["grants"].items() if v is not None) or "no MODE/GROUP/TAG/OWNER"
            evidence.append(f"  line {line['lineno']}: {line['text']}  → {granted}")

    results = []
    for row in pids:
        eff = grants_mod.evaluate(vendor_files, "2207", row["pid"])
        ok, why = grants_mod.user_access(eff, who_groups, True if as_root else None, seat_rules)
        results.append((row, eff, ok, why))
    assumptions = sorted({a for _, eff, _, _ in results for a in eff.assumptions})
    evidence += [f"assumption: {a}" for a in assumptions]

    granted = [r for r in results if r[2]]
    observed = _summary(scanned)
    if not vendor_files:
        status, message = WARN, (
            f"no udev rules file mentions vendor 2207, so {who} cannot open Rockchip USB devices "
            "(adb shows `no permissions`, NTB boards and the compute stick are not found)" + ("" if as_root else "")
        )
        fix = _fix(root, group=group)
    elif len(granted) == len(results):
        why = results[0][3] if len({r[3] for r in results}) == 1 else "; ".join(f"{_pid_label(r[0])}: {r[3]}" for r in results)
        status, message, fix = OK, f"{who} can open Rockchip USB devices: {why}", None
        if results[0][1].mode and results[0][1].mode.value.endswith("6") and "rknn-envcheck" not in results[0][1].mode.where:
            message += " — every local user, as the vendor's rule does; `udev --install` grants it only to the seat user and group " + group
    else:
        denied = [r for r in results if not r[2]]
        why = _by_reason(denied)
        status = WARN
        message = f"{who} cannot open every Rockchip USB device: {why}"
        extra = []
        eff = denied[0][1]
        if not as_root and eff.group and eff.group.value not in who_groups:
            extra = [cmd("sudo", "usermod", "-aG", str(eff.group.value), _user_name(), note="then log out and in again")]
        if group_exists(group, root) is False:
            message += f"; group {group} does not exist on this system"
            fix = _missing_group_fix(root, group)
        else:
            fix = _fix(root, extra, group=group)
    checks.append(Check(id="udev.rules", title="udev rules for Rockchip USB (vendor 2207)", status=status,
                        component=COMPONENT, subject=SUBJECT, observed=observed, how=_how(root),
                        expected=f"a rule letting {who} read and write 2207 devices", source=SOURCE,
                        message=message, fix=fix, evidence=evidence))

    checks += _override_checks(files, root)
    checks += _order_checks(results, root)
    checks += _device_checks(root, group, who_groups, as_root, results, usb_ids or [])
    return checks


def _override_checks(files, root: Path) -> list[Check]:
    checks = []
    by_path = {str(f.path): f for f in files}
    for hidden in files:
        if not hidden.overridden_by or not hidden.mentions_vendor:
            continue
        winner = by_path[hidden.overridden_by]
        if winner.masked:
            status, msg = WARN, f"{winner.path} masks {hidden.path} (empty or a link to /dev/null): its 2207 rules are not applied"
        elif not winner.mentions_vendor:
            status, msg = WARN, f"{winner.path} replaces {hidden.path} and no longer mentions 2207: the vendor 2207 rules in {hidden.name} are lost"
        else:
            status, msg = OK, f"{winner.path} replaces {hidden.path} (same name, higher-priority directory): udev reads only the {winner.directory} copy"
        checks.append(Check(id=f"udev.override.{hidden.name}", title=f"{hidden.name} is overridden", status=status,
                            component=COMPONENT, subject=SUBJECT, observed=f"{hidden.path} overridden by {winner.path}",
                            how=_how(root), expected="udev reads one file per name: /etc, then /run, then /usr/local/lib, /usr/lib, /lib",
                            source="udev(7): rules files", message=msg,
                            fix=None if status == OK else Fix(f"remove or edit {winner.path} if the {hidden.name} rules are wanted",
                                                              [cmd("sudo", "rm", str(winner.path))])))
    return checks


def _order_checks(results, root) -> list[Check]:
    late = sorted({w for _, eff, _, _ in results for w in eff.uaccess_too_late})
    if not late:
        return []
    return [Check(id="udev.uaccess_order", title='TAG+="uaccess" set too late', status=WARN, component=COMPONENT,
                  subject=SUBJECT, observed=late, how="the rules files' names compared with 73-seat-late.rules",
                  expected=f"TAG+=\"uaccess\" in a file sorting before {grants_mod.SEAT_LATE_RULES}", source="systemd-logind 73-seat-late.rules",
                  message=f"{', '.join(late)}: the uaccess tag is added after {grants_mod.SEAT_LATE_RULES} ran, so the seat user never gets the ACL",
                  fix=_fix(root, text="rename the file to start with a number below 73, or let rknn-envcheck write 70-rknn-envcheck-rockchip.rules"))]


def _reapply_fix() -> Fix:
    return Fix("the rules grant access but this device node predates them: re-apply the rules to vendor 2207 devices "
               "(or unplug and replug the board)", [cmd("sudo", "udevadm", *args) for args in RELOAD_COMMANDS])


def _device_checks(root: Path, group: str, who_groups: set[str], as_root: bool, results, usb_ids) -> list[Check]:
    base = root / "sys" / "bus" / "usb" / "devices"
    how = f"{base}/*/idVendor, idProduct, busnum, devnum; stat and os.access on {root / 'dev/bus/usb'}/BBB/DDD"
    bus, bus_how = usb_bus_state(root)
    if bus == "absent" and base.is_dir() and not os.access(base, os.R_OK | os.X_OK):
        return [Check(id="udev.devices", title="connected Rockchip USB devices", status=UNKNOWN, component="usb",
                      subject=SUBJECT, observed=None, how=how, expected="sysfs USB device list",
                      message=f"cannot list USB devices: {bus_how} (this user cannot read it)",
                      fix=Fix("run the check as a user who can read sysfs", [cmd("ls", "-l", str(base))]))]
    if bus == "absent":
        # No USB bus at all (a container, CI): no board can be plugged in here, so there is nothing
        # to list — `skipped` with why, as the host check says for the same situation.
        return [Check(id="udev.devices", title="connected Rockchip USB devices", status=SKIPPED, component="usb",
                      subject=SUBJECT, observed="no USB bus", how=bus_how, expected="a USB host controller in sysfs",
                      message=f"no USB bus on this machine ({bus_how}): no Rockchip board can be connected here, so no device is listed")]
    devices = connected_devices(root)
    if not devices:
        return [Check(id="udev.devices", title="connected Rockchip USB devices", status=SKIPPED, component="usb",
                      subject=SUBJECT, observed=[], how=how, expected="a 2207 device when a board is plugged in",
                      message="no Rockchip (vendor 2207) USB device is connected now")]
    meanings = {str(r.get("pid", "")).lower(): r for r in usb_ids}
    by_pid = {r[0]["pid"]: r for r in results}
    checks = []
    for dev in devices:
        row = meanings.get(dev["pid"] or "", {})
        row = row or meanings.get("*", {})
        label = f"2207:{dev['pid']} ({short_meaning(row) or 'not in matrices/usb.toml'}) on bus {dev['busnum']} device {dev['devnum']}"
        rule_result = by_pid.get(dev["pid"]) or by_pid[None]
        node_ok, node_why = ordinary_user_access(dev, who_groups)
        observed = (f"2207:{dev['pid']} {dev.get('node')} " + (f"{dev['node_mode']} {dev['node_owner']}:{dev['node_group']}"
                    + (f" ACL {', '.join(dev['node_acl'])}" if dev.get("node_acl") else "") if dev.get("node_exists") else "node missing"))
        fix = None
        if not dev.get("node_exists"):
            status = UNKNOWN
            message = f"{label}: {node_why}; cannot check who can open it"
        elif as_root:
            status = OK if node_ok else WARN
            message = (f"{label}: root can open every device; an ordinary user in group {group} at the local seat "
                       f"{'can' if node_ok else 'could not'} open it now ({node_why}). Per the rules: {rule_result[3]}")
            if not node_ok:
                fix = _reapply_fix() if rule_result[2] else _fix(root)
        elif dev.get("can_open"):
            status, message = OK, f"{label}: {_user_name()} can open {dev['node']} ({node_why})"
        else:
            status = FAIL
            message = f"{label}: {_user_name()} cannot open {dev['node']} ({node_why}); adb shows `no permissions`, the toolkit cannot reach the board"
            if rule_result[2]:
                fix = _reapply_fix()
            else:
                fix = _fix(root)
        checks.append(Check(id=f"udev.device.{dev['busnum']}-{dev['devnum']}", title=f"access to Rockchip USB device {dev['busnum']}-{dev['devnum']}",
                            status=status, component="usb", subject=SUBJECT, observed=observed, how=how,
                            expected="read+write for the user running the toolkit", source=SOURCE, message=message, fix=fix))
    return checks
