"""Write the Rockchip udev rules file safely, reload udev, and prove the result.

The vendor's update_rk1808_usb_rule.sh copies a world-writable rule into /etc and gives no
feedback. Here: compare first (a second run changes nothing), write atomically (temp file in the
same directory, fsync, rename — a crash leaves the old file or the new one, never half of one),
keep a backup of a different existing file, reload and trigger only vendor 2207 devices, then
look at the device nodes again and say whether a replug is still needed.
"""
from __future__ import annotations

import errno
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from rknn_envcheck.records import dataclass, field
from rknn_envcheck.shellcmd import posix_quote
from rknn_envcheck.udev.render_rule import RULE_FILE_NAME, render_rules

RULES_DIR = "etc/udev/rules.d"
UDEVADM_TIMEOUT_S = 30
RELOAD_COMMANDS = (
    ["control", "--reload-rules"],
    ["trigger", "--subsystem-match=usb", "--attr-match=idVendor=2207"],
    ["settle", "--timeout=10"],
)

NOT_LINUX = {
    "win32": [
        "udev rules exist only on Linux; on Windows there is nothing to install with this command.",
        "Windows needs the WinUSB driver for NTB-mode boards and the TB-RK1808 compute stick: run zadig",
        "(platform-tools/drivers_installer/windows-x86_64/zadig-2.4.exe in the RKNN Toolkit package), select the",
        "device whose USB ID starts with 2207 (the compute stick is 2207:0018) and install the default WinUSB",
        "driver [RKNN-Toolkit Quick Start 1.4.0–1.7.5].",
        "RV1109/RV1126 firmware does not enable NTB by default: add usb_ntb_en to /etc/init.d/.usb_config on the",
        "board and reboot it [RKNN-Toolkit Troubleshooting Guide 1.7.5 §8.10/8.11].",
        "Close 360 Total Security / Tencent PC Manager before connecting [RKNN-Toolkit Troubleshooting Guide 1.4.0 (CN) §1.7.2 item 7].",
    ],
    "darwin": [
        "udev rules exist only on Linux; macOS has no udev and the reference documents no driver or",
        "permission step for it.",
        "macOS supports one board at a time: to switch boards, end npu_transfer_proxy first",
        "(killall npu_transfer_proxy) [RKNN-Toolkit Troubleshooting Guide 1.4.0 (CN) §1.7.2 item 6; 1.7.5 §7].",
    ],
}


@dataclass
class Outcome:
    exit_code: int
    target: str
    lines: list[str] = field(default_factory=list)
    action: str = ""  # unchanged | dry-run | written | refused | failed | not-linux
    backup: str | None = None
    reloaded: bool | None = None
    replug_needed: bool | None = None
    planned_text: str | None = None  # dry run: the file --install would write (the re-check is predicted on it)

    def say(self, text: str = "") -> None:
        self.lines.append(text)


def tool_command(for_sudo: bool = False) -> str:
    """How to run this tool again (a display string); under sudo by absolute path, since sudo's
    PATH rarely has the venv (probes/own_command.py)."""
    from rknn_envcheck.probes.own_command import own_command
    from rknn_envcheck.shellcmd import posix_join

    tool = own_command()
    return posix_join(tool["sudo_argv"] if for_sudo else tool["argv"])


def install_argv(mode: str, group: str, root: str, matrix: str | None = None, dry_run: bool = False) -> list[str]:
    """The flags that repeat this install; defaults are left out so the line stays readable."""
    argv = ["udev", "--install"]
    if dry_run:
        argv.append("--dry-run")
    if mode != "uaccess":
        argv += ["--mode", mode]
    if mode != "world" and group != "plugdev":
        argv += ["--group", group]
    if str(root) != "/":
        argv += ["--root", str(root)]
    if matrix:
        argv += ["--matrix", str(matrix)]
    return argv


def sudo_command(argv: list[str]) -> str:
    from rknn_envcheck.probes.own_command import own_command
    from rknn_envcheck.shellcmd import posix_join

    return posix_join(["sudo", *own_command()["sudo_argv"], *argv])


def udev_fix_commands(root="/", group: str | None = None) -> list:
    """The commands the udev report's fixes show (shellcmd.Command): read what will happen, then
    do it — for the same --root (and --group) the status was read for. Rules use fixplan.udev_commands(facts)."""
    from rknn_envcheck.probes.own_command import own_command
    from rknn_envcheck.shellcmd import udev_commands

    return udev_commands({"tool": own_command()}, str(root or "/"), group)


def group_exists(group: str, root: Path) -> bool | None:
    """None when it cannot be known (a --root tree without etc/group)."""
    if root == Path("/"):
        import grp  # POSIX-only

        try:
            grp.getgrnam(group)
            return True
        except KeyError:
            return False
    group_file = root / "etc" / "group"
    try:
        return any(line.split(":", 1)[0] == group for line in group_file.read_text().splitlines())
    except OSError:
        return None


def _backup(target: Path) -> Path:
    """Copy the current file beside it under a new name. A name not ending in ".rules", so udev
    ignores the backup although it sits in rules.d; created with O_CREAT|O_EXCL|O_NOFOLLOW and
    the next free suffix on a clash, so a file or a (dangling) symlink someone put at the name is
    never written through."""
    from rknn_envcheck.safeio import copy_exclusive

    stamp = time.strftime("%Y%m%d-%H%M%S")
    return copy_exclusive(target, target.parent, lambda n: f"{target.name}.bak-{stamp}" + (f"-{n}" if n else ""))


def _os_error_text(exc: OSError) -> str:
    name = errno.errorcode.get(exc.errno or 0, "")
    return f"{exc.strerror or exc}{f' ({name})' if name else ''}"


def run_udevadm(udevadm: str, out: Outcome) -> bool:
    ok = True
    for args in RELOAD_COMMANDS:
        cmd = [udevadm, *args]
        shown = " ".join(shlex.quote(c) for c in ["udevadm", *args])
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=UDEVADM_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as exc:
            out.say(f"  {shown}: could not run ({exc})")
            ok = False
            break
        if proc.returncode == 0:
            out.say(f"  {shown}: ok")
        else:
            detail = (proc.stderr or proc.stdout).strip().splitlines()
            out.say(f"  {shown}: exit {proc.returncode}{': ' + detail[-1] if detail else ''}")
            ok = False
            break
    return ok


def _recheck(root: Path, group: str, mode: str, out: Outcome, reloaded: bool) -> None:
    from rknn_envcheck.udev.devices import connected_devices, ordinary_user_access

    devices = connected_devices(root)
    if not devices:
        out.say("No Rockchip (2207) USB device is connected now; the rule applies when you plug one in.")
        out.replug_needed = False
        return
    as_root = os.geteuid() == 0
    missing = []
    for dev in devices:
        label = f"2207:{dev.get('pid')} on bus {dev.get('busnum')} device {dev.get('devnum')}"
        if as_root:
            ok, why = ordinary_user_access(dev, {group} if mode != "world" else set())
        else:
            ok = dev.get("can_open")
            why = f"{dev.get('node')}: this user {'can' if ok else 'cannot'} open it (os.access read+write)"
        out.say(f"  {label}: {'accessible' if ok else 'NOT accessible' if ok is False else 'unknown'} — {why}")
        if not ok:
            missing.append(label)
    if missing:
        out.replug_needed = True
        reason = "udev has applied the new rule to no connected device yet" if reloaded else "udev was not reloaded"
        out.say(f"Replug needed: {reason}. Unplug the board(s) and plug them in again (or reboot), then run `{tool_command()} udev`.")
    else:
        out.replug_needed = False
        out.say("Every connected Rockchip device is accessible now; no replug needed.")


def install(root="/", mode="uaccess", group="plugdev", usb_ids=None, dry_run=False, matrix=None,
            udevadm: str | None = "auto", platform: str | None = None) -> Outcome:
    """Install the rules file under root/etc/udev/rules.d. udevadm="auto": find it, only for root "/".

    Named steps; each `_refuse_*`/`_stop_*` step returns True when it has finished the outcome."""
    root = Path(root)
    target_dir = root / RULES_DIR
    target = target_dir / RULE_FILE_NAME
    out = Outcome(exit_code=0, target=str(target))
    platform = platform or sys.platform
    if _refuse_off_linux(out, platform):
        return out
    rule_group, refused = _rule_group(out, mode, group, root)
    if refused:
        return out
    text = render_rules(mode, rule_group, usb_ids)
    if _refuse_unmanaged_target(out, target):
        return out
    existing = _read_existing(out, target)
    if existing == text:
        out.action = "unchanged"
        out.say(f"{target}: already installed, nothing changed.")
        return out
    commands = [f"udevadm {' '.join(a)}" for a in RELOAD_COMMANDS]
    if dry_run:
        _describe_dry_run(out, target, existing, text, commands, (mode, group, str(root), matrix))
        return out
    if _refuse_unwritable(out, target_dir, target, root, (mode, group, str(root), matrix)):
        return out
    if not _write_with_backup(out, target, text, existing):
        return out
    out.action = "written"
    if out.backup:
        out.say(f"Backed up the previous {target.name} as {out.backup}")
    out.say(f"Wrote {target} (--mode {mode}):")
    out.lines.extend("  | " + line for line in text.rstrip("\n").split("\n") if not line.startswith("#"))
    _note_later_grants(root, target, text, out)
    if _reload_udev(out, root, udevadm, commands):
        _recheck(root, group, mode, out, bool(out.reloaded))
    return out


def _refuse_off_linux(out: Outcome, platform: str) -> bool:
    if platform.startswith("linux"):
        return False
    out.action = "not-linux"
    out.exit_code = 2
    for line in NOT_LINUX.get(platform, ["udev rules exist only on Linux; nothing to install on this system."]):
        out.say(line)
    return True


def _rule_group(out: Outcome, mode: str, group: str, root: Path) -> tuple[str | None, bool]:
    """The GROUP to write (None: the group does not exist here), and whether the install is refused."""
    if mode == "world":
        return group, False
    known = group_exists(group, root)
    if known is False and mode == "group":
        out.action = "refused"
        out.exit_code = 2
        out.say(f"Group {group!r} does not exist on this system, so GROUP=\"{group}\" would be ignored by udev.")
        out.say(f"Create it first: sudo groupadd {shlex.quote(group)}   (or pick another with --group)")
        return group, True
    if known is False:
        out.say(f"Group {group!r} does not exist here: writing the rule without GROUP (seat users still get access via uaccess).")
        return None, False
    if known is None and mode == "group":
        out.say(f"Cannot tell whether group {group!r} exists ({root / 'etc' / 'group'} is not readable); udev ignores a GROUP that does not exist.")
    return group, False


def _refuse_unmanaged_target(out: Outcome, target: Path) -> bool:
    """A link or a non-file at our path (e.g. an admin's mask, a link to /dev/null): replacing it
    would silently undo their choice."""
    if not (os.path.lexists(target) and (target.is_symlink() or not target.is_file())):
        return False
    out.action = "refused"
    out.exit_code = 1
    out.say(f"{target} exists but is not a regular file ({'a link to ' + os.readlink(target) if target.is_symlink() else 'not a file'}); "
            "it was left alone. Remove it first if rknn-envcheck should manage it.")
    return True


def _read_existing(out: Outcome, target: Path) -> str | None:
    try:
        return target.read_bytes().decode("utf-8", errors="replace") if target.is_file() else None
    except OSError as exc:
        out.say(f"Cannot read the existing {target}: {_os_error_text(exc)}")
        return None


def _describe_dry_run(out: Outcome, target: Path, existing: str | None, text: str, commands: list[str], argv_parts: tuple) -> None:
    mode, group, root, matrix = argv_parts
    out.action = "dry-run"
    if not target.parent.is_dir():
        out.exit_code = 1
        out.say(f"Dry run: `--install` would fail: {target.parent} does not exist (is {posix_quote(str(root))} the root of a Linux system with udev?).")
        return
    out.say("Dry run: nothing is changed. `--install` would:")
    out.planned_text = text
    if existing is not None:
        out.say(f"  1. keep the current {target} (it differs) as {target.name}.bak-<date-time> beside it")
    out.say(f"  {'2' if existing is not None else '1'}. write {target} (mode 0644, {len(text.encode())} bytes):")
    out.lines.extend("     | " + line for line in text.rstrip("\n").split("\n"))
    out.say("  then run:")
    out.lines.extend("     " + c for c in commands)
    out.say("  and check again which connected Rockchip devices can be opened.")
    # The same sudo line as the status report's fix (shellcmd.udev_commands), whoever runs the dry run.
    out.say("To do it: " + sudo_command(install_argv(mode, group, root, matrix)))


def _refuse_unwritable(out: Outcome, target_dir: Path, target: Path, root: Path, argv_parts: tuple) -> bool:
    """rules.d missing (no udev, wrong --root) or not writable by this user: nothing is written."""
    if not target_dir.is_dir():
        out.action = "failed"
        out.exit_code = 1
        what = "is not a directory" if target_dir.exists() or _blocked_by_file(target_dir) else "does not exist"
        out.say(f"Cannot install: {target_dir} {what} (is udev installed? is --root {posix_quote(str(root))} right?). Nothing was written.")
        return True
    if os.geteuid() != 0 and not os.access(target_dir, os.W_OK):
        out.action = "refused"
        out.exit_code = 2
        out.say(f"Writing {target} needs root (running as uid {os.geteuid()}). Nothing was changed. Run:")
        out.say("  " + sudo_command(install_argv(*argv_parts)))
        return True
    return False


def _write_with_backup(out: Outcome, target: Path, text: str, existing: str | None) -> bool:
    """Keep a backup of what is there, then write atomically; False (outcome finished) on failure."""
    from rknn_envcheck.errors import UsageError
    from rknn_envcheck.safeio import write_text

    try:
        if os.path.lexists(target):  # also when it could not be read: never replace what we have not kept
            out.backup = str(_backup(target))
    except OSError as exc:
        out.action = "failed"
        out.exit_code = 1
        out.say(f"Cannot keep a backup of {target}: {_os_error_text(exc)}. Nothing was changed; it is untouched.")
        return False
    try:
        # safeio: temp file `.NAME.rknn-envcheck-XXXX.tmp` (never *.rules) in rules.d, fsync, rename, fsync the directory.
        write_text(target, text, mode=0o644)
    except UsageError as exc:
        if out.backup:
            Path(out.backup).unlink(missing_ok=True)
            out.backup = None
        out.action = "failed"
        out.exit_code = 1
        out.say(f"{exc}. Nothing was changed" + (f"; {target} is untouched." if existing is not None else "."))
        return False
    return True


def _reload_udev(out: Outcome, root: Path, udevadm: str | None, commands: list[str]) -> bool:
    """Reload udev for vendor 2207 devices; False when --root names another system (nothing to
    re-check on this machine)."""
    if udevadm == "auto":
        udevadm = shutil.which("udevadm") if root == Path("/") else None
        if root != Path("/"):
            out.say(f"--root {posix_quote(str(root))}: not reloading this machine's udev; on the target system run: " + "; ".join(f"sudo {c}" for c in commands))
            out.reloaded = None
            return False
    if not udevadm:
        out.say("udevadm was not found (a container, or udev is not installed): the file is written and takes effect")
        out.say("when udev next starts; on the host run: " + "; ".join(f"sudo {c}" for c in commands))
        out.reloaded = False
    else:
        out.say("Reloading udev, re-applying rules to vendor 2207 devices only:")
        out.reloaded = run_udevadm(udevadm, out)
        if not out.reloaded:
            out.say("udev did not reload (is systemd-udevd running?); the file is written and applies when udev next starts.")
    return True


def _note_later_grants(root: Path, target: Path, text: str, out: Outcome) -> None:
    """A file sorting after ours (the vendor's 91-rk1808-ai-cs.rules) wins on MODE/GROUP: say so."""
    from rknn_envcheck.udev.grants import evaluate
    from rknn_envcheck.udev.scan import active_files, load_rules_files

    files = [f for f in active_files(load_rules_files(root)) if f.mentions_vendor]
    from rknn_envcheck.udev.render_rule import parse_rule_keys

    ours = parse_rule_keys(text)[0]
    eff = evaluate(files, "2207", None)
    for grant, key in ((eff.mode, "MODE="), (eff.group, "GROUP=")):
        if grant is not None and not grant.where.startswith(str(target) + ":") and ours.get(key) != grant.value:
            path = grant.where.rsplit(":", 1)[0]
            out.say(f"Note: {grant.where} sorts after {target.name} and overrides its {key[:-1]} "
                    f"with {grant.value!r}; for the narrower grant remove it: sudo rm {shlex.quote(path)}")
            return


def _blocked_by_file(directory: Path) -> bool:
    return any(parent.is_file() for parent in directory.parents)
