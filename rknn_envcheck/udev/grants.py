"""What the rules that mention vendor 2207 finally grant a Rockchip USB device, in udev's order.

A small interpreter, not a pattern search: later assignments win (MODE/GROUP/OWNER), `:=` makes
a value final, TAG+= adds, GOTO/LABEL skip within a file, and ENV variables set by one rule are
seen by the next — the android-udev-rules file, for one, says `ATTR{idVendor}!="2207",
GOTO="not_Rockchip"` / `ENV{adb_user}="yes"` and grants access on a later `ENV{adb_user}=="yes"`
line, which a line-by-line grep would read backwards. Match keys this tool cannot know for a
device that is not plugged in (KERNEL, DRIVERS, PROGRAM, ...) are assumed to match and listed.

Rules files that never mention 2207 are not evaluated (e.g. a distribution's catch-all
`SUBSYSTEM=="usb", MODE="0664"`): their grants are not attributed to the Rockchip rules.
"""
from __future__ import annotations

from rknn_envcheck.records import dataclass, field

from rknn_envcheck.udev.scan import RulesFile
from rknn_envcheck.udev.syntax import Item, pattern_matches

# systemd-logind's uaccess builtin runs from this file; a TAG+="uaccess" set by a file that sorts
# after it arrives too late and grants nothing.
SEAT_LATE_RULES = "73-seat-late.rules"


@dataclass
class Grant:
    value: str
    where: str  # path:line


@dataclass
class Effective:
    vid: str
    pid: str | None
    mode: Grant | None = None
    group: Grant | None = None
    owner: Grant | None = None
    uaccess: Grant | None = None  # TAG+="uaccess" in time for the seat rules
    uaccess_too_late: list[str] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        def g(grant):
            return None if grant is None else {"value": grant.value, "where": grant.where}

        return {
            "vid": self.vid,
            "pid": self.pid,
            "MODE": g(self.mode),
            "GROUP": g(self.group),
            "OWNER": g(self.owner),
            "uaccess": g(self.uaccess),
            "uaccess_too_late": list(self.uaccess_too_late),
            "assumptions": list(self.assumptions),
        }


class _Device:
    def __init__(self, vid: str, pid: str | None):
        self.vid = vid
        self.pid = pid
        self.env: dict[str, str] = {}
        self.tags: dict[str, str] = {}  # tag -> where it was added
        self.final: set[str] = set()

    def known_value(self, item: Item, assigned_env: set[str]) -> str | None:
        """The device's value for a match key, or None when it cannot be known offline."""
        key, attr = item.key, item.attr
        if key == "ACTION":
            return "add"
        if key in ("SUBSYSTEM", "SUBSYSTEMS"):
            return "usb"
        if key in ("ATTR", "ATTRS", "SYSFS") and attr == "idVendor":
            return self.vid
        if key in ("ATTR", "ATTRS", "SYSFS") and attr == "idProduct":
            return self.pid
        if key == "ENV":
            fixed = {"ID_VENDOR_ID": self.vid, "ID_MODEL_ID": self.pid, "DEVTYPE": "usb_device", "MAJOR": "189",
                     "SUBSYSTEM": "usb", "ID_BUS": "usb"}
            if attr in self.env:
                return self.env[attr]
            if attr in fixed:
                return fixed[attr]
            if attr in assigned_env:
                return ""  # set only by rules we evaluate, and none of them set it for this device
        return None


def _matches(device: _Device, items: list[Item], assigned_env: set[str]) -> tuple[bool, list[str]]:
    assumed: list[str] = []
    for item in items:
        if item.key == "TAG":
            hit = any(pattern_matches(item.value, tag) for tag in device.tags)
        else:
            value = device.known_value(item, assigned_env)
            if value is None:
                assumed.append(f'{item.name}{item.op}"{item.value}"')
                continue
            hit = pattern_matches(item.value, value) if item.value else value == ""
        if hit != (item.op == "=="):
            return False, []
    return True, assumed


def _apply(device: _Device, eff: Effective, items: list[Item], where: str, file_name: str) -> str | None:
    goto = None
    for item in items:
        key = item.key
        if key in ("MODE", "GROUP", "OWNER"):
            if key in device.final:
                continue
            setattr(eff, key.lower(), Grant(item.value, where))
            if item.op == ":=":
                device.final.add(key)
        elif key == "TAG":
            if item.op == "=":
                device.tags = {item.value: where}
            elif item.op == "-=":
                device.tags.pop(item.value, None)
            else:
                device.tags[item.value] = where
            if item.value == "uaccess" and item.op in ("=", "+="):
                if file_name < SEAT_LATE_RULES:
                    eff.uaccess = Grant("uaccess", where)
                else:
                    eff.uaccess_too_late.append(where)
            elif item.value == "uaccess" and item.op == "-=":
                eff.uaccess = None
        elif key == "ENV" and item.attr:
            if item.op == "+=":
                device.env[item.attr] = device.env.get(item.attr, "") + item.value
            else:
                device.env[item.attr] = item.value
        elif key == "GOTO":
            goto = item.value
    return goto


def evaluate(files: list[RulesFile], vid: str = "2207", pid: str | None = None) -> Effective:
    """Run the (already ordered, non-overridden) rules files for one USB device."""
    eff = Effective(vid=vid, pid=pid)
    device = _Device(vid, pid)
    assigned_env = {
        i.attr for f in files for r in f.rules for i in r.items if i.key == "ENV" and not i.is_match and i.attr
    }
    for entry in files:
        labels = {}
        for index, rule in enumerate(entry.rules):
            label = rule.first("LABEL", assign=True)
            if label is not None:
                labels.setdefault(label.value, index)
        index = 0
        while index < len(entry.rules):
            rule = entry.rules[index]
            where = f"{entry.path}:{rule.lineno}"
            if rule.error:
                eff.assumptions.append(f"{where}: skipped, {rule.error}")
                index += 1
                continue
            ok, assumed = _matches(device, rule.matches(), assigned_env)
            if ok:
                if assumed and rule.assigns():
                    eff.assumptions.append(f"{where}: assumed {', '.join(assumed)} matches")
                goto = _apply(device, eff, rule.assigns(), where, entry.name)
                if goto is not None:
                    # udev ignores a GOTO whose LABEL is missing (it logs an error); so do we.
                    target = labels.get(goto)
                    if target is not None and target > index:
                        index = target
                        continue
            index += 1
    return eff


def _mode_bits(mode: str) -> int | None:
    try:
        return int(mode, 8)
    except ValueError:
        return None


def user_access(eff: Effective, groups: set[str], on_seat: bool | None, seat_rules_present: bool = True) -> tuple[bool | None, str]:
    """Can a non-root user with these groups open the device node these grants produce?"""
    reasons = []
    mode = _mode_bits(eff.mode.value) if eff.mode else None
    group = eff.group.value if eff.group else "root"
    if mode is not None and mode & 0o006 == 0o006:
        return True, f'MODE="{eff.mode.value}" lets every user read and write ({eff.mode.where})'
    if mode is not None and mode & 0o060 == 0o060 and eff.group is not None and group in groups:
        return True, f'MODE="{eff.mode.value}" GROUP="{group}" and the user is in group {group} ({eff.group.where})'
    if eff.uaccess is not None and seat_rules_present:
        if on_seat:
            return True, f'TAG+="uaccess" gives the user logged in at the local seat an ACL ({eff.uaccess.where})'
        reasons.append(f'TAG+="uaccess" ({eff.uaccess.where}) helps only a user logged in at the local seat, not over ssh')
    elif eff.uaccess is not None:
        reasons.append(f"TAG+=\"uaccess\" ({eff.uaccess.where}) does nothing here: no {SEAT_LATE_RULES} (systemd-logind's seat rules) was found")
    for where in eff.uaccess_too_late:
        reasons.append(f'TAG+="uaccess" at {where} comes after {SEAT_LATE_RULES} and is never applied')
    if eff.mode is None:
        reasons.append("no rule mentioning 2207 sets MODE (the distribution default, usually 0664 root:root, lets other users only read)")
    elif eff.group is not None and mode is not None and mode & 0o060 == 0o060 and group not in groups:
        reasons.append(f'MODE="{eff.mode.value}" GROUP="{group}" ({eff.group.where}) but the user is not in group {group}')
    else:
        reasons.append(f'MODE="{eff.mode.value}" ({eff.mode.where}) gives other users no read+write')
    return False, "; ".join(reasons)
