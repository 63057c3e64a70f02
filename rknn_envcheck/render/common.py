"""Pieces every human-readable rendering shares: grouping by subject, the summary line."""
from __future__ import annotations

import re

from rknn_envcheck.report import CRASHED, FAIL, OK, SKIPPED, UNKNOWN, WARN
from rknn_envcheck.shellcmd import UNSAFE_CHARS, escape_unsafe


def grouped(report) -> list[tuple[str, str, list]]:
    """(subject, heading, checks) in the report's subject order, then any subject not declared."""
    order = list(dict.fromkeys(list(report.subjects) + [c.subject for c in report.checks]))
    # One pass over the checks (a scan per subject was quadratic: 2,000 boards took 6 s here).
    by_subject: dict = {subject: [] for subject in order}
    for check in report.checks:
        by_subject[check.subject].append(check)
    return [(subject, report.subjects.get(subject) or subject, by_subject[subject]) for subject in order]


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
    elif report.judged_nothing():
        # Never an empty "all clear" (exit 3): say what to run to get something judged.
        if counts[SKIPPED]:
            detail = f"{counts[SKIPPED]} skipped: {'none applies' if counts[SKIPPED] > 1 else 'it does not apply'} here"
        hint = getattr(report, "if_nothing_judged", "") or NOTHING_JUDGED_HINT
        return f"nothing was judged ({detail}); {hint}"
    else:
        head = "all clear"
    return f"{head} ({detail})"


NOTHING_JUDGED_HINT = "run `rknn-envcheck` (the doctor: this PC, USB and every board) to check something"


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
        return [clean(command)]
    why = command.unsafe
    if why:
        return [f"(command not shown: {why})"]
    line = command.display(host_shell)
    return [f"{line}  # {clean(command.note)}" if command.note else line]


def command_language(command, host_shell: str) -> str:
    """What a fix line is written in: "python" (a statement for the user's script), else the
    shell that runs it ("powershell" or "sh")."""
    shell = getattr(command, "shell", "host")
    if shell == "python":
        return "python"
    if shell == "host":
        shell = host_shell
    return "powershell" if shell == "powershell" else "sh"


PROMPTS = {"python": ">>>", "powershell": "PS>", "sh": "$"}


def report_hostname(report) -> str:
    """The name of the PC the facts were gathered on (facts carry it, so a replay names the
    user's machine, not ours); "" when unknown."""
    facts = report.facts if isinstance(report.facts, dict) else {}
    name = facts.get("hostname")
    return name if isinstance(name, str) else ""


# --- Sanitising: every string from outside (facts, boards, logs, models, file names, the
# environment) reaches a terminal or a document only through these. Control characters (C0,
# DEL, C1: ESC sequences, OSC 52 clipboard writes, CR that rewinds a line), BiDi overrides and
# zero-width marks are shown escaped (`\x1b`, `\u202e`) — shellcmd.escape_unsafe — so nothing a
# board or a log says can move the cursor, recolour, retitle, reorder or forge a line. JSON keeps
# the exact strings (json escapes controls itself).


def clean(text, keep_newlines: bool = False) -> str:
    """`text` with unsafe characters escaped; newlines kept only where the caller lays out
    continuation lines itself (a message we composed), else shown as `\\x0a`."""
    text = text if isinstance(text, str) else str(text)
    if not UNSAFE_CHARS.search(text):
        return text  # the common case: one C-level regex scan, no copy
    if keep_newlines and "\n" in text:
        return "\n".join(escape_unsafe(part) for part in text.split("\n"))
    return escape_unsafe(text)


def clean_value(value):
    """A fact value (str, list, dict, number) with every string in it cleaned."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, (list, tuple)):
        return [clean_value(v) for v in value]
    if isinstance(value, dict):
        return {clean(k) if isinstance(k, str) else k: clean_value(v) for k, v in value.items()}
    return value


def sanitized(report, with_facts: bool = False):
    """A copy of `report` whose every outside string is cleaned: the one sanitising point of the
    text and markdown renderers (they then add their own colour codes and markup freely). Fix
    commands stay Command objects: command_lines withholds the unsafe ones. The facts are cleaned
    only `with_facts` (text -v prints them; cleaning 200 distributions costs ~10 ms otherwise)."""
    import copy

    from rknn_envcheck import records
    from rknn_envcheck.report import Fix

    clone = copy.copy(report)
    clone.command = clean(report.command)  # holds paths from the command line
    clone.matrix_version, clone.matrix_date = clean(report.matrix_version), clean(report.matrix_date)
    clone.notes = [clean(n, keep_newlines=True) for n in report.notes]
    clone.subjects = {k: clean(v) for k, v in report.subjects.items()}
    if with_facts and isinstance(report.facts, dict):
        clone.facts = clean_value(report.facts)
    checks = []
    for c in report.checks:
        fix = c.fix
        if fix is not None:
            fix = Fix(text=clean(fix.text, keep_newlines=True),
                      commands=[cmd if hasattr(cmd, "display") else clean(cmd) for cmd in fix.commands])
        checks.append(records.replace(
            c, title=clean(c.title), subject=c.subject, observed=clean_value(c.observed), how=clean(c.how),
            expected=clean_value(c.expected), rule=clean(c.rule), source=clean(cited(c.source)),
            message=clean(c.message, keep_newlines=True), fix=fix, evidence=[clean(e) for e in c.evidence]))
    clone.checks = checks
    return clone


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&#!])")


def md_text(text) -> str:
    """Cleaned, with markdown's own syntax backslash-escaped: no link `[..](..)`, no autolink or
    HTML `<..>`, no emphasis, code span, table-cell break `|` or entity `&..;` from outside text."""
    return "\n".join(_MD_SPECIAL.sub(r"\\\1", line) for line in clean(text, keep_newlines=True).split("\n"))


def md_code(text, table: bool = False) -> str:
    """An inline code span that holds any text: the fence is longer than any backtick run inside.
    `table`: the span sits in a GFM table cell, which splits on `|` even inside code spans, so `|`
    is escaped there; anywhere else CommonMark keeps a backslash in a code span literally."""
    body = clean(text)
    if table:
        body = body.replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if body.startswith("`") or body.endswith("`") or not body.strip() else ""
    return f"{fence}{pad}{body}{pad}{fence}"


def md_fence(lines: list[str]) -> str:
    """The backtick fence for a code block holding `lines` (longer than any backtick run in them)."""
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    return "`" * max(3, longest + 1)


def xml_text(text) -> str:
    """For XML/HTML output: cleaned (XML 1.0 cannot even hold most control characters), then
    entity-escaped (& < > " ')."""
    from xml.sax.saxutils import escape

    return escape(clean(text, keep_newlines=True), {'"': "&quot;", "'": "&apos;"})


def per(source: str, shown: str | None = None) -> str:
    """"per <document>" for a row's source; an "inferred from …" source (our own derivation from
    a document) is shown as it stands, not "per inferred from …". `shown`: the source as rendered."""
    from rknn_envcheck.citations import INFERRED

    return ("" if source.startswith(INFERRED) else "per ") + (source if shown is None else shown)


def cited(source) -> str:
    """A row's `source` as the documents a user can open: title, version, section, URL (from
    matrices/documents.toml; rknn_envcheck/citations.py)."""
    if not isinstance(source, str) or not source:
        return source if isinstance(source, str) else ""
    from rknn_envcheck.citations import default_registry

    return default_registry().text(source)


def prose_cited(report):
    """A copy of `report` whose prose (message, expected, fix text) names documents, not registry
    keys: "(seed §1.7.2 item 1)" → "(Rockchip RKNN-Toolkit Troubleshooting Guide … v1.4.0, §1.7.2
    item 1)". Every format renders this copy, so JSON, text and markdown say the same."""
    import copy

    from rknn_envcheck import records
    from rknn_envcheck.citations import default_registry, render_inline
    from rknn_envcheck.report import Fix

    registry = default_registry()
    memo: dict = {}  # rows of one report repeat their fix texts ("the same as …", one plan per board)

    def inline(text):
        if not isinstance(text, str) or "(" not in text:
            return text
        if text not in memo:
            rendered = render_inline(text, registry)
            memo[text] = text if rendered == text else rendered  # unchanged: the same object, no copy of the row
        return memo[text]

    clone = copy.copy(report)
    checks = []
    for c in report.checks:
        fix = c.fix
        if fix is not None and "(" in (fix.text or ""):
            fix = Fix(text=inline(fix.text), commands=list(fix.commands))
        expected, message = inline(c.expected), inline(c.message)
        same = message is c.message and expected is c.expected and fix is c.fix
        checks.append(c if same else records.replace(c, message=message, expected=expected, fix=fix))
    clone.checks = checks
    return clone
