"""Markdown rendering, ready to paste into a bug report: a table per subject, details below.

Every outside string is cleaned (render.common.sanitized: control and BiDi characters escaped)
and then escaped for markdown itself (md_text, md_code, md_fence): a board, a log or a facts file
cannot add a link, an image, HTML, a table column or close a code block."""
from __future__ import annotations

from rknn_envcheck import __version__
from rknn_envcheck.render.common import (command_language, command_lines, describe, grouped, md_code, md_fence, md_text, sanitized,
                                         summary_line, verdict)
from rknn_envcheck.report import OK


def _cell(value) -> str:
    if value is None or value == "":
        return "—"
    return md_text(describe(value)).replace("\n", " ")


def render_markdown(report, verbose: bool = False) -> str:
    report = sanitized(report)
    out = [f"## rknn-envcheck {__version__} — {md_code(report.command)}", "",
           f"Matrix {md_text(report.matrix_version or '?')} ({md_text(report.matrix_date or '?')}). **{summary_line(report)}**", ""]
    for note in report.notes:
        out.append("> " + md_text(note).replace("\n", "\n> "))
    for _subject, heading, checks in grouped(report):
        out += [f"### {md_text(heading)} — {verdict(checks)}", "", "| status | check | observed | expected | source |", "|---|---|---|---|---|"]
        for c in checks:
            out.append(f"| {c.status} | {_cell(c.title)} | {_cell(c.observed)} | {_cell(c.expected)} | {_cell(c.source)} |")
        out.append("")
        for c in checks:
            if c.status == OK and not verbose:
                continue
            if not (c.message or c.fix or c.evidence):
                continue
            out.append(f"- **{md_text(c.title)}** ({c.status}): {_indented(md_text(c.message))}")
            if c.how:
                out.append(f"  - read from: {md_code(c.how)}")
            for item in c.evidence[:10]:
                out.append(f"  - evidence: {md_code(item)}")
            if c.fix:
                out.append(f"  - fix: {_indented(md_text(c.fix.text))}")
                # One code block per run of the same language: shell lines and Python statements
                # are never mixed in one block a reader would paste into a terminal.
                blocks: list[tuple[str, list[str]]] = []
                for cmd in c.fix.commands:
                    language = command_language(cmd, report.host_shell)
                    if not blocks or blocks[-1][0] != language:
                        blocks.append((language, []))
                    blocks[-1][1].extend(command_lines(cmd, report.host_shell))
                for language, lines in blocks:
                    fence = md_fence(lines)
                    out.append("")
                    out.append(f"    {fence}{language}")
                    out += [f"    {line}" for line in lines]
                    out.append(f"    {fence}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _indented(text: str) -> str:
    """Continuation lines of a list item stay inside it."""
    return text.replace("\n", "\n    ")
