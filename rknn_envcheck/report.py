"""The result model every command produces: a list of checks, each with its evidence and fix.

Renderers (render/) only show a Report; rules (rules/) only build Checks. Exit codes follow
DESIGN.md: 0 all ok, 1 a fail (--strict: or a warn), 2 usage/input error, 3 nothing failed but
something could not be checked.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Iterable

from rknn_envcheck.records import asdict, dataclass, field

OK = "ok"
WARN = "warn"
FAIL = "fail"
UNKNOWN = "unknown"
SKIPPED = "skipped"
CRASHED = "crashed"
STATUSES = (OK, WARN, FAIL, UNKNOWN, SKIPPED, CRASHED)

# report/2: a fix command is {argv, shell, display[, note, unsafe]} instead of a string.
REPORT_SCHEMA = "rknn-envcheck/report/2"


@dataclass
class Fix:
    """What to do, in words, and the commands that do it (shellcmd.Command: argument lists
    quoted for the shell that runs them; see rknn_envcheck/shellcmd.py)."""

    text: str
    commands: list = field(default_factory=list)

    def to_dict(self, host_shell: str = "posix") -> dict:
        return {"text": self.text, "commands": [command_dict(c, host_shell) for c in self.commands]}


def after_title(title: str, text: str) -> str | None:
    """What `text` says after its own title: explain's titles are the first clause of the message
    ("Title: rest"), so a renderer or a cross-reference would otherwise say the title twice.
    None when the text does not open with "title:"."""
    if not text.lower().startswith(title.lower() + ":"):
        return None
    return text[len(title) + 1:].lstrip()


def command_dict(command, host_shell: str = "posix") -> dict:
    if hasattr(command, "to_dict"):
        return command.to_dict(host_shell)
    return {"argv": None, "shell": "text", "display": str(command)}


@dataclass
class Check:
    """One judged item.

    observed/how say what was seen and how it was read (command, path, metadata file);
    expected/rule/source say what the matrix wants and where that fact comes from.
    """

    id: str
    title: str
    status: str
    component: str = ""
    subject: str = "host"  # "host", "device:<serial>", "model:<file>", "log:<file>", "usb", "udev"
    observed: Any = None
    how: str = ""
    expected: Any = None
    rule: str = ""
    source: str = ""
    message: str = ""
    fix: Fix | None = None
    evidence: list[str] = field(default_factory=list)
    duration_ms: float = 0.0

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"check {self.id}: status {self.status!r} is not one of {STATUSES}")

    def to_dict(self, host_shell: str = "posix") -> dict:
        fix = self.fix
        self.fix = None
        try:
            data = asdict(self)
        finally:
            self.fix = fix
        data["fix"] = fix.to_dict(host_shell) if fix is not None else None
        if self.source:
            from rknn_envcheck.citations import default_registry

            data["citations"] = [c.to_dict() for c in default_registry().cite(self.source)]
        return data


@dataclass
class Report:
    command: str
    checks: list[Check] = field(default_factory=list)
    matrix_version: str = ""
    matrix_date: str = ""
    facts: dict | None = None
    notes: list[str] = field(default_factory=list)
    # subject -> heading, in display order ("host" -> "Host: Python 3.11.7 linux x86_64 ...").
    subjects: dict[str, str] = field(default_factory=dict)
    # Text rendering: passing checks of a subject share one line (the doctor's one screen).
    compact: bool = False
    # subject ("device:<serial>") -> the board's one install plan for this report (fixplan.py):
    # the release, why, and the commands every installing row shows.
    plans: dict[str, dict] = field(default_factory=dict)
    # When no check ran: what to run to get something judged (the summary line says it).
    if_nothing_judged: str = ""

    def add(self, check: Check) -> Check:
        self.checks.append(check)
        return check

    def extend(self, checks: Iterable[Check]) -> None:
        self.checks.extend(checks)

    def counts(self) -> dict[str, int]:
        counts = {status: 0 for status in STATUSES}
        for check in self.checks:
            counts[check.status] += 1
        return counts

    def problems(self, strict: bool = False) -> list[Check]:
        bad = {FAIL, WARN} if strict else {FAIL}
        return [c for c in self.checks if c.status in bad]

    def judged_nothing(self) -> bool:
        """No check ran, or every one was skipped (did not apply): the report may not say "all clear"."""
        return all(check.status == SKIPPED for check in self.checks)

    def exit_code(self, strict: bool = False) -> int:
        counts = self.counts()
        if counts[FAIL] or (strict and counts[WARN]):
            return 1
        if counts[UNKNOWN] or counts[CRASHED] or self.judged_nothing():
            return 3  # nothing failed, but something (here: everything) could not be checked
        return 0

    @property
    def host_shell(self) -> str:
        """The shell of the PC the facts describe: fix commands are rendered for it."""
        from rknn_envcheck.shellcmd import host_shell_of

        return host_shell_of(self.facts)

    def to_dict(self) -> dict:
        shell = self.host_shell
        return {
            "schema": REPORT_SCHEMA,
            "command": self.command,
            "matrix": {"version": self.matrix_version, "date": self.matrix_date},
            "summary": self.counts(),
            "exit_code": self.exit_code(),
            "notes": list(self.notes),
            "subjects": dict(self.subjects),
            **({"plans": dict(self.plans)} if self.plans else {}),
            "host_shell": shell,
            # the PC the facts describe (merge and CI outputs tell hosts apart by it)
            **({"hostname": self.facts["hostname"]} if isinstance(self.facts, dict) and isinstance(self.facts.get("hostname"), str) else {}),
            "checks": [c.to_dict(shell) for c in self.checks],
            **({"facts": self.facts} if self.facts is not None else {}),
        }


def run_guarded(check_id: str, title: str, subject: str, func: Callable[[], Iterable[Check]]) -> list[Check]:
    """Run one rule; an exception becomes a `crashed` row so the other checks still run.

    The flutter-doctor pattern: a bug in one check is shown, not fatal.
    """
    start = time.perf_counter()
    try:
        checks = list(func())
    except Exception as exc:  # noqa: BLE001 - a crashing rule must not end the run
        checks = [
            Check(
                id=check_id,
                title=title,
                status=CRASHED,
                subject=subject,
                message=f"this check itself failed ({type(exc).__name__}: {exc}); this is a bug in rknn-envcheck, please report it",
            )
        ]
    elapsed = (time.perf_counter() - start) * 1000.0
    per_check = elapsed / max(len(checks), 1)
    for check in checks:
        if not check.duration_ms:
            check.duration_ms = round(per_check, 3)
    return checks
