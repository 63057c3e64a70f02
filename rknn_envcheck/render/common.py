"""Pieces every human-readable rendering shares: grouping by subject, the summary line."""
from __future__ import annotations

from rknn_envcheck.report import CRASHED, FAIL, OK, SKIPPED, UNKNOWN, WARN


def grouped(report) -> list[tuple[str, str, list]]:
    """(subject, heading, checks) in the report's subject order, then any subject not declared."""
    order = list(report.subjects)
    for check in report.checks:
        if check.subject not in order:
            order.append(check.subject)
    groups = []
    for subject in order:
        checks = [c for c in report.checks if c.subject == subject]
        heading = report.subjects.get(subject) or subject
        groups.append((subject, heading, checks))
    return groups


def verdict(checks) -> str:
    statuses = {c.status for c in checks}
    if FAIL in statuses:
        return "FAIL"
    if WARN in statuses:
        return "WARN"
    if statuses & {UNKNOWN, CRASHED}:
        return "UNKNOWN"
    if not checks or statuses <= {SKIPPED}:
        return "NOT CHECKED"
    return "OK"


def summary_line(report, strict: bool = False) -> str:
    counts = report.counts()
    problems = counts[FAIL] + counts[WARN]
    unknown = counts[UNKNOWN] + counts[CRASHED]
    parts = []
    for status, label in ((FAIL, "failed"), (WARN, "warning"), (UNKNOWN, "could not be checked"), (CRASHED, "crashed"), (OK, "ok")):
        if counts[status]:
            parts.append(f"{counts[status]} {label}")
    detail = ", ".join(parts) if parts else "no checks ran"
    if problems:
        head = f"{problems} problem{'s' if problems != 1 else ''}"
    elif unknown:
        head = "no problems found, but some things could not be checked"
    else:
        head = "all clear"
    return f"{head} ({detail})"


def describe(value) -> str:
    if value is None:
        return "not observed"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(describe(v) for v in value) if value else "none"
    if isinstance(value, dict):
        return ", ".join(f"{k}={describe(v)}" for k, v in value.items()) if value else "none"
    return str(value)


def command_lines(command, host_shell: str) -> list[str]:
    """A fix command as the user's shell wants it; withheld (and why) when it holds a value that
    cannot be shown safely. A plain string (a fixed instruction) is shown as it is."""
    if not hasattr(command, "display"):
        return [str(command)]
    why = command.unsafe
    if why:
        return [f"(command not shown: {why})"]
    line = command.display(host_shell)
    return [f"{line}  # {command.note}" if command.note else line]
