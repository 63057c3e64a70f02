"""The text of the rules file `rknn-envcheck udev --install` writes, for each access mode.

The output is a pure function of (mode, group, known product ids): no date or tool version in it,
so a second --install can compare bytes and say "already installed, nothing changed".
"""
from __future__ import annotations

import re

from rknn_envcheck.errors import UsageError

# 70-: must sort before 73-seat-late.rules, where systemd-logind turns TAG "uaccess" into an ACL.
RULE_FILE_NAME = "70-rknn-envcheck-rockchip.rules"
MODES = ("uaccess", "group", "world")
DEFAULT_MODE = "uaccess"
DEFAULT_GROUP = "plugdev"
VENDOR_RULE = 'SUBSYSTEM=="usb", ATTR{idVendor}=="2207", MODE="0666"'
VENDOR_RULE_SOURCE = "TK platform-tools/update_rk_usb_rule/linux/update_rk1808_usb_rule.sh : update_rk1808_usb_rule.sh writes it as 91-rk1808-ai-cs.rules"

# Used when matrices/usb.toml has no [[usb_id]] rows: the ids the references document.
FALLBACK_USB_IDS = (
    {"vid": "2207", "pid": "0006", "mode": "adb", "meaning": "board in ADB mode (start_usb.sh)", "source": "NPU drivers/common/usr/bin/start_usb.sh"},
    {"vid": "2207", "pid": "1808", "mode": "ntb", "meaning": "RK1808 board in NTB mode (start_usb.sh)", "source": "NPU drivers/common/usr/bin/start_usb.sh"},
    {"vid": "2207", "pid": "0018", "mode": "ntb", "meaning": "TB-RK1808 AI compute stick", "source": "QS-1.1.0 …1.3.2"},
)
# Everything this module writes into the rules file that did not come from this file is checked
# against one of these (fullmatch, so no trailing newline slips through): udev reads GROUP="…"
# with `$` substitutions, and a newline or a trailing backslash in a comment would start or
# continue a rule. Text from a --matrix DIR or a poisoned cache is input like any other.
_GROUP_NAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
_VENDOR_ID = re.compile(r"[0-9a-f]{4}")
_PRODUCT_ID = re.compile(r"[0-9a-f]{4}|\*")
_ID_MODE = re.compile(r"[a-z][a-z0-9-]{0,31}")
_COMMENT_TEXT = re.compile(r"[A-Za-z0-9 ,.;:()'/+_-]{0,160}")


def check_group_name(group: str) -> str:
    if not isinstance(group, str) or not _GROUP_NAME.fullmatch(group):
        from rknn_envcheck.inputlimits import MAX_SHOWN, cut

        raise UsageError(f"--group {cut(repr(group), MAX_SHOWN)} is not a valid group name for a udev rule "
                         "(lower-case letters, digits, _ and -, starting with a letter or _, at most 32; e.g. plugdev)")
    return group


def check_usb_id_row(row: dict) -> dict:
    """A [[usb_id]] row as the rules file's comment shows it; a value outside the strict patterns
    is refused with the matrix file and row it came from."""
    where = f"matrix file {row.get('_file', '?')} [[usb_id]] row {row.get('_row', '?')}"
    checks = (("vid", _VENDOR_ID, "4 lower-case hex digits"), ("pid", _PRODUCT_ID, "4 lower-case hex digits or *"),
              ("mode", _ID_MODE, "a lower-case word with - (e.g. adb, ntb)"))
    for key, pattern, expected in checks:
        value = row.get(key, "")
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise UsageError(f"{where}: {key} {_shown(value)} is not {expected}; refusing to write it into a udev rules file")
    meaning = short_meaning(row)
    if not _COMMENT_TEXT.fullmatch(meaning):
        raise UsageError(f"{where}: meaning {_shown(meaning)} has characters other than ASCII letters, digits, spaces "
                         "and , . ; : ( ) ' / + _ - (before its first ': '); refusing to write it into a udev rules file")
    return row


def _shown(value) -> str:
    from rknn_envcheck.inputlimits import MAX_SHOWN, cut

    return cut(repr(value), MAX_SHOWN)


def rule_line(mode: str, group: str | None = DEFAULT_GROUP) -> str:
    if mode not in MODES:
        raise UsageError(f"--mode {mode!r} is not one of {', '.join(MODES)}")
    if mode == "world":
        return VENDOR_RULE
    if group is not None or mode == "group":
        check_group_name(group)
    if mode == "group":
        return f'SUBSYSTEM=="usb", ATTR{{idVendor}}=="2207", MODE="0660", GROUP="{group}"'
    if mode == "uaccess" and group is None:
        # No such group on this system: udev would log "Unknown group" and ignore it; the seat ACL still works.
        return 'SUBSYSTEM=="usb", ATTR{idVendor}=="2207", MODE="0660", TAG+="uaccess"'
    if mode == "uaccess":
        return f'SUBSYSTEM=="usb", ATTR{{idVendor}}=="2207", MODE="0660", GROUP="{group}", TAG+="uaccess"'
    raise UsageError(f"--mode {mode!r} is not one of {', '.join(MODES)}")


_ACCESS_TEXT = {
    "uaccess": [
        'TAG+="uaccess": the user logged in at the local seat gets an ACL on the device node',
        '(systemd-logind); GROUP="{group}" with MODE="0660" also covers ssh sessions and services',
        "of members of group {group}. Other users get nothing (the vendor rule gives everyone 0666).",
    ],
    "uaccess-nogroup": [
        'TAG+="uaccess": the user logged in at the local seat gets an ACL on the device node',
        "(systemd-logind); MODE=\"0660\" with no GROUP (the group asked for does not exist here), so",
        "nobody else can open it (the vendor rule gives everyone 0666).",
    ],
    "group": [
        'GROUP="{group}" with MODE="0660": members of group {group} can open the device,',
        "nobody else (add a user with: sudo usermod -aG {group} USER, then log in again).",
    ],
    "world": [
        'MODE="0666": every local user and service can open the device — the vendor\'s own rule,',
        f"reproduced as written [{VENDOR_RULE_SOURCE}].",
    ],
}


def short_meaning(row: dict) -> str:
    """The matrix's meaning up to its first colon: enough for a comment or a device label."""
    return str(row.get("meaning", "")).split(": ", 1)[0]


def render_rules(mode: str = DEFAULT_MODE, group: str | None = DEFAULT_GROUP, usb_ids=None) -> str:
    line = rule_line(mode, group)
    ids = [check_usb_id_row(r) for r in (usb_ids or FALLBACK_USB_IDS) if str(r.get("vid", "")).lower() == "2207"]
    if not ids:
        ids = list(FALLBACK_USB_IDS)
    flags = f"--mode {mode}" + (f" --group {group}" if mode != "world" and group else "")
    out = [
        "# Rockchip USB devices (vendor 2207) for RKNN boards: ADB, NTB, the TB-RK1808 compute stick",
        "# and loader/maskrom mode.",
        f"# Written by `rknn-envcheck udev --install {flags}`, which may rewrite this file;",
        "# keep local changes in a file with another name.",
        "#",
    ]
    access = "uaccess-nogroup" if mode == "uaccess" and group is None else mode
    out += ["# " + text.format(group=group) for text in _ACCESS_TEXT[access]]
    out += [
        "#",
        '# One vendor-wide match (ATTR{idVendor}=="2207"), not one line per product id, on purpose:',
        "# the product id changes with the board's USB mode and, in loader/maskrom mode, with the chip,",
        "# so a list would leave any id it misses unusable; the vendor rule matches the vendor id alone",
        "# too. Known product ids this covers (matrices/usb.toml):",
    ]
    for row in sorted(ids, key=lambda r: (str(r.get("pid")) == "*", str(r.get("pid")), str(r.get("mode")))):
        out.append(f"#   {row['vid']}:{row['pid']:<6} {row.get('mode', ''):<18} {short_meaning(row)}".rstrip())
    if not any(str(r.get("mode", "")).lower() in ("loader", "maskrom") for r in ids):
        out.append(f"#   2207:*      {'loader':<18} loader/maskrom mode (product id differs per chip)")
    out += [line, ""]
    return "\n".join(out)


def parse_rule_keys(text: str) -> list[dict]:
    """The rules in a rendered file as {key: value} dicts (used to verify what was written)."""
    from rknn_envcheck.udev.syntax import parse_rules

    parsed = []
    for rule in parse_rules(text):
        if rule.error:
            raise ValueError(f"line {rule.lineno}: {rule.error}")
        parsed.append({f"{i.name}{i.op}": i.value for i in rule.items})
    return parsed
