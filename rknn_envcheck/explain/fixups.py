"""What makes a log's checks agree with each other and with the reader's machine.

- a check's title is words, not a message id (`err_device_unavailable`);
- a cause the manual gives for another toolkit line or another OS than this report's is left
  out (toolkit-1 NTB and RK3399Pro causes on an rknn-toolkit2 log, `tasklist` on Linux);
- every `pip install` of a report runs through the one judged interpreter's pip;
- a component judged `ok` on one row and failing on another is judged once: the `ok` row takes
  the worse verdict and points at the row that explains it.
"""
from __future__ import annotations

import re
import sys

from rknn_envcheck.report import FAIL, OK, UNKNOWN, WARN, after_title

_V1, _V2 = "rknn-toolkit", "rknn-toolkit2"


# ------------------------------------------------------------------ titles


def human_title(message) -> str:
    """The first clause of the message's meaning ("The toolkit could not use the board's NPU"),
    at most ~70 characters; the id only when the meaning is empty."""
    meaning = " ".join(str(getattr(message, "meaning", "") or "").split())
    if not meaning:
        return message.id.replace("_", " ")
    clause = re.split(r"(?<=[a-z0-9)'`])[.;:](?:\s|$)| \(|, (?:and|but|so|which) ", meaning, maxsplit=1)[0].strip()
    if len(clause) > 72:
        clause = clause[:72].rsplit(" ", 1)[0] + " …"
    return clause[0].upper() + clause[1:] if clause else message.id.replace("_", " ")


# ------------------------------------------------------------------ causes


def running_os() -> str:
    """The OS of the PC running explain: the commands it prints are pasted there."""
    if sys.platform.startswith("win"):
        return "windows"
    return "darwin" if sys.platform == "darwin" else "linux"


def report_line(facts: dict) -> str | None:
    """The toolkit line the log (or the facts) shows: the PC's toolkit, else the board runtime."""
    packages = ((facts.get("host") or {}).get("packages") or {})
    for package in (_V2, _V1):
        if package in packages:
            return package
    log = facts.get("log") or {}
    libraries = [str(log.get("runtime_lib") or "")] + [str(d.get("runtime_library") or "") for d in facts.get("devices") or []]
    if any(lib.startswith(("librknnrt", "librknnmrt")) for lib in libraries):
        return _V2
    if any(lib.startswith("librknn_runtime") for lib in libraries) or log.get("hal_user") or log.get("hal_kernel"):
        return _V1
    return None


def cause_applies(cause: dict, facts: dict) -> bool:
    """False when the cause's `only` table (`line`, `os`) names another toolkit line or OS than
    this report's; unknown line or OS keeps the cause."""
    only = cause.get("only") or {}
    line = report_line(facts)
    if only.get("line") and line and line != only["line"]:
        return False
    if only.get("os"):
        host_os = str((facts.get("host") or {}).get("os") or running_os()).lower()
        wanted = [only["os"]] if isinstance(only["os"], str) else list(only["os"])
        if host_os not in wanted:
            return False
    return True


def applicable_causes(causes: list[dict], facts: dict) -> tuple[list[dict], int]:
    kept = [c for c in causes if cause_applies(c, facts)]
    return kept, len(causes) - len(kept)


# ------------------------------------------------------------------ one pip


def _pip_tail(argv: tuple) -> tuple | None:
    """The arguments after pip in `pip …`, `pip3 …`, `python[3] -m pip …`; None otherwise."""
    if not argv:
        return None
    if argv[0] in ("pip", "pip3"):
        return argv[1:]
    if re.fullmatch(r"python(3(\.\d+)?)?", argv[0]) and argv[1:3] == ("-m", "pip"):
        return argv[3:]
    return None


def one_pip(commands: list, facts: dict) -> list:
    """Every pip command through the judged interpreter's pip (`host.python.executable`, else
    `python3 -m pip`): a bare `pip` may belong to another environment than the toolkit's."""
    from rknn_envcheck.rules.host_common import pip_argv
    from rknn_envcheck.shellcmd import Command

    head = pip_argv(facts.get("host") or {})
    out = []
    for command in commands:
        argv = tuple(getattr(command, "argv", ()) or ())
        tail = _pip_tail(argv)
        out.append(command if tail is None else Command([*head, *tail], shell=command.shell, note=command.note))
    return out


# ------------------------------------------------------------------ one verdict per component

# Names rows use for one board component (a log row says "librknnrt", a board row "librknnrt.so").
# The board's runtime library has one name per line; a board row whose library is unknown says
# "runtime library".
_SAME = {"librknnrt.so": "runtime", "librknnrt": "runtime", "librknnmrt.so": "runtime", "librknnmrt": "runtime",
         "librknn_runtime.so": "runtime", "librknn_runtime": "runtime", "runtime library": "runtime",
         "libgal.so": "galcore", "galcore.ko": "galcore", "npu driver": "npu_driver"}
_RANK = {OK: 0, UNKNOWN: 1, WARN: 2, FAIL: 3}


def _component(check) -> str:
    name = str(check.component or "").strip().lower()
    return _SAME.get(name, name)


def reconcile(checks: list) -> list:
    """An `ok` row beside a failing/warning row on the same component of the same report takes
    the worse status and names that row: the report states one verdict per component."""
    worst: dict[str, object] = {}
    for check in checks:
        key = _component(check)
        if key and check.status in (WARN, FAIL) and _RANK[check.status] > _RANK.get(getattr(worst.get(key), "status", OK), 0):
            worst[key] = check
    for check in checks:
        other = worst.get(_component(check))
        if other is None or check.status != OK or other is check:
            continue
        check.status = other.status
        said = other.message.splitlines()[0] if other.message else other.status
        rest = after_title(other.title, said)  # the title is quoted just before: not twice
        said = said if rest is None else rest
        check.message = f"{check.message} — but see \"{other.title}\": {said}"
        if check.fix is None or not check.fix.commands:
            from rknn_envcheck.report import Fix

            same = f"as for \"{other.title}\"" + (f": {other.fix.text}" if other.fix and other.fix.text else "")
            text = f"{check.fix.text}; {same}" if check.fix is not None and check.fix.text else same
            check.fix = Fix(text, list(other.fix.commands) if other.fix else [])
    return checks


# ------------------------------------------------------------------ fixes from a log's values


def installed_line(commands, installs) -> str | None:
    """The toolkit line whose board files a message's own install commands copy."""
    for command in commands:
        if installs(command):
            text = " ".join(getattr(command, "argv", ()))
            if "librknnrt" in text or "librknnmrt" in text or "rknpu2/" in text:
                return "rknn-toolkit2"
            if "librknn_runtime" in text or "galcore" in text or "/drivers/" in text:
                return "rknn-toolkit"
    return None


def pip_conflict_fix(groups: dict, facts: dict):
    """`X requires SPEC, but you have …`: install SPEC with the judged pip; the requirement from
    the log is one argv element, never parsed by a shell."""
    from rknn_envcheck.report import Fix
    from rknn_envcheck.rules.host_common import pip_argv
    from rknn_envcheck.shellcmd import Command

    pip = pip_argv(facts.get("host") or {})
    return Fix(f"install the range {groups.get('toolkit_package')} {groups.get('toolkit_version')} requires in the same environment, then check it",
               [Command([*pip, "install", groups["requirement"]]), Command([*pip, "check"])])
