"""One-screen text report: a heading per subject (host, each board, model, log), one line per
check, details only for problems (all details with -v), and a final all-clear or "N problems"."""
from __future__ import annotations

import os
import sys

from rknn_envcheck import __version__
from rknn_envcheck.render.common import PROMPTS, command_language, command_lines, describe, grouped, per, sanitized, summary_line, verdict
from rknn_envcheck.report import CRASHED, FAIL, OK, SKIPPED, UNKNOWN, WARN, after_title

TAGS = {OK: "[ ok ]", WARN: "[warn]", FAIL: "[FAIL]", UNKNOWN: "[ ?? ]", SKIPPED: "[skip]", CRASHED: "[BUG!]"}
COLOURS = {OK: "32", WARN: "33", FAIL: "31;1", UNKNOWN: "36", SKIPPED: "2", CRASHED: "35;1"}


def _use_colour() -> bool:
    # no-color.org: NO_COLOR disables colour only when it is set to a non-empty value.
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def _short(check) -> str:
    """`rknn_server 2.3.2`: what passed, as short as it can be said."""
    observed = check.observed
    component = check.component or ""
    if isinstance(observed, str) and observed and len(observed) <= 40:
        if component and observed.lower().startswith(component.lower()):
            return observed
        if component and " " not in observed:
            return f"{component} {observed}"
        return f"{check.title}: {observed}"
    if observed is None and check.message:
        return check.message  # nothing observed: the row states a requirement (e.g. model preflight without a board)
    return check.title


def _wrap(items: list[str], first: str, indent: str, width: int = 110) -> list[str]:
    lines, current = [], first
    for item in items:
        piece = item if current in (first, indent) else " · " + item
        if len(current) + len(piece) > width and current not in (first, indent):
            lines.append(current)
            current, piece = indent, item
        current += piece
    lines.append(current)
    return lines


def render_text(report, verbose: bool = False) -> str:
    report = sanitized(report, with_facts=verbose)  # the one sanitising point: outside text escaped, colour codes added below
    colour = _use_colour()

    def tag(status: str) -> str:
        text = TAGS[status]
        return f"\033[{COLOURS[status]}m{text}\033[0m" if colour else text

    lines = [f"rknn-envcheck {__version__} · {report.command} · matrix {report.matrix_version or '?'} ({report.matrix_date or '?'})"]
    for note in report.notes:
        lines.append(f"  note: {note}")
    for _subject, heading, checks in grouped(report):
        lines.append("")
        lines.append(f"{heading} — {verdict(checks)}")
        if not checks:
            lines.append("  (nothing to check)")
        compact = report.compact and not verbose
        fixes_shown: dict = {}  # one screen: a fix that repeats within a subject is named, not reprinted
        if compact:
            # One screen: the passing checks of a subject share one line; problems get details.
            passing = [c for c in checks if c.status == OK]
            if passing:
                lines.extend(_wrap([_short(c) for c in passing], f"  {tag(OK)} ", "         "))
        # A subject where nothing applied says why in one line each (e.g. "adb server not started").
        only_skipped = bool(checks) and all(c.status == SKIPPED for c in checks)
        for check in checks:
            if not verbose and ((check.status == SKIPPED and not only_skipped) or (compact and check.status == OK)):
                continue  # summarised above; advice and not-applicable rows are shown with -v
            timing = f"  ({check.duration_ms:.1f} ms)" if verbose else ""
            # a message that already opens with its title is not prefixed twice
            if check.message and after_title(check.title, check.message) is None:
                lines.append(f"  {tag(check.status)} {check.title}: {check.message}{timing}")
            else:
                lines.append(f"  {tag(check.status)} {check.message or check.title}{timing}")
            show_detail = verbose or check.status in (FAIL, WARN, UNKNOWN, CRASHED)
            if not show_detail:
                continue
            if check.observed is not None or check.how:
                how = f"  (read from {check.how})" if check.how else ""
                lines.append(f"         observed: {describe(check.observed)}{how}")
            if check.expected is not None:
                attribution = f"  ({per(check.source)})" if check.source else ""
                lines.append(f"         expected: {describe(check.expected)}{attribution}")
            elif check.source and verbose:
                lines.append(f"         source:   {check.source}")
            if check.rule and verbose:
                lines.append(f"         rule:     {check.rule}")
            for item in check.evidence[: (20 if verbose else 3)]:
                lines.append(f"         evidence: {item}")
            if check.fix and (check.status != OK or verbose):
                key = (check.fix.text, tuple(check.fix.commands))
                if key in fixes_shown and not verbose:
                    lines.append(f"         fix:      the same as for {fixes_shown[key]} above")
                    continue
                fixes_shown.setdefault(key, check.title)
                lines.append(f"         fix:      {check.fix.text}")
                for command in check.fix.commands:
                    # `$` for a shell, `>>>` for a statement in the user's Python script: a
                    # snippet is never shown as if a shell could run it.
                    prompt = PROMPTS[command_language(command, report.host_shell)]
                    for line in command_lines(command, report.host_shell):
                        lines.append(f"             {prompt} {line}" if not line.startswith("(command not shown") else f"             {line}")
    if verbose and report.facts:
        lines += _facts_section(report.facts)
    lines.append("")
    lines.append(summary_line(report))
    # A message we composed may span lines: continuation lines are indented under the detail
    # column, so no text can start a line of its own at the left margin.
    return "\n".join(line.replace("\n", "\n" + _CONTINUATION) for line in lines) + "\n"


_CONTINUATION = " " * 11


_SKIP_FACTS = {"how", "raw", "errors", "packages", "package_locations", "sys_path", "process_details", "probe_errors"}


def _facts_section(facts: dict) -> list[str]:
    """-v: every fact, with how it was read (the facts' own `how` maps)."""
    out = ["", "Facts (what was observed, and how)"]
    groups = []
    if facts.get("host"):
        groups.append(("host", facts["host"]))
    for device in facts.get("devices") or []:
        groups.append((f"board {device.get('serial', '?')}", device))
    for name, data in groups:
        how = data.get("how") or {}
        out.append(f"  {name}:")
        for key in sorted(data):
            if key in _SKIP_FACTS or data[key] in (None, "", [], {}):
                continue
            value = describe(data[key])
            if len(value) > 100:
                value = value[:97] + "..."
            suffix = f"   [{how[key]}]" if key in how else ""
            out.append(f"    {key}: {value}{suffix}")
        packages = data.get("packages")
        if packages:
            out.append(f"    packages: {len(packages)} distributions   [{how.get('packages', 'installed metadata')}]")
        for key, why in (data.get("errors") or {}).items():
            out.append(f"    {key}: not observed ({why})")
    return out
