"""Markdown rendering, ready to paste into a bug report: a table per subject, details below."""
from __future__ import annotations

from rknn_envcheck import __version__
from rknn_envcheck.render.common import command_lines, describe, grouped, summary_line, verdict
from rknn_envcheck.report import OK


def _cell(value) -> str:
    if value is None or value == "":
        return "—"
    return describe(value).replace("|", "\\|").replace("\n", " ")


def render_markdown(report, verbose: bool = False) -> str:
    out = [f"## rknn-envcheck {__version__} — `{report.command}`", "",
           f"Matrix {report.matrix_version or '?'} ({report.matrix_date or '?'}). **{summary_line(report)}**", ""]
    for note in report.notes:
        out.append(f"> {note}")
    for _subject, heading, checks in grouped(report):
        out += [f"### {heading} — {verdict(checks)}", "", "| status | check | observed | expected | source |", "|---|---|---|---|---|"]
        for c in checks:
            out.append(f"| {c.status} | {_cell(c.title)} | {_cell(c.observed)} | {_cell(c.expected)} | {_cell(c.source)} |")
        out.append("")
        for c in checks:
            if c.status == OK and not verbose:
                continue
            if not (c.message or c.fix or c.evidence):
                continue
            out.append(f"- **{c.title}** ({c.status}): {c.message}")
            if c.how:
                out.append(f"  - read from: `{c.how}`")
            for item in c.evidence[:10]:
                out.append(f"  - evidence: `{item}`")
            if c.fix:
                out.append(f"  - fix: {c.fix.text}")
                if c.fix.commands:
                    out.append("")
                    out.append("    ```powershell" if report.host_shell == "powershell" else "    ```sh")
                    out += [f"    {line}" for cmd in c.fix.commands for line in command_lines(cmd, report.host_shell)]
                    out.append("    ```")
        out.append("")
    return "\n".join(out).rstrip() + "\n"
