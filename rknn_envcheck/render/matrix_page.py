"""The compatibility matrix (rknn_envcheck/matrix_view.py) as text, markdown, or one static,
self-contained HTML page: no network, no script, every cell's sources on hover and as numbered
footnotes, the user's own toolkit, Python and boards highlighted when facts were given."""
from __future__ import annotations

import html

from rknn_envcheck import __version__
from rknn_envcheck.shellcmd import escape_unsafe

_CSS = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5em;color:#1b1b1b}
h1{font-size:1.4em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}h3{font-size:1.05em}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:13px}
th,td{border:1px solid #d0d0d0;padding:3px 6px;vertical-align:top;text-align:left}
th{background:#f2f2f2;position:sticky;top:0}
td.mine,th.mine{background:#fff3b0;font-weight:600}tr.mine th{background:#ffe066}
td.empty{color:#aaa}sup a{text-decoration:none;color:#2458a6}
.yours{background:#fffbe6;border:1px solid #e6c200;padding:.5em 1em;display:inline-block}
.note{color:#555;font-size:12px}ol.sources{font-size:12px;color:#333}
"""


class _Footnotes:
    def __init__(self) -> None:
        self.numbers: dict[str, int] = {}

    def number(self, source: str) -> int:
        if source not in self.numbers:
            self.numbers[source] = len(self.numbers) + 1
        return self.numbers[source]


def _clean(text) -> str:
    return escape_unsafe(str(text))


def _yours_lines(view_facts) -> list[str]:
    from rknn_envcheck.matrix_view import yours_from_facts

    yours = yours_from_facts(view_facts)
    lines = []
    if yours.toolkit:
        from rknn_envcheck.versions import try_parse

        understood = try_parse(yours.toolkit[1]) is not None
        lines.append(f"toolkit: {yours.toolkit[0]} {yours.toolkit[1]}"
                     + ("" if understood else " (not a version this tool understands: no release row is marked)"))
    if yours.python:
        lines.append(f"Python {yours.python}" + (f" on {yours.platform}" if yours.platform else ""))
    for board in yours.boards:
        parts = [str(board.get(k)) for k in ("chip", "rknn_server", "librknn_runtime", "npu_driver") if board.get(k)]
        lines.append(f"board {board.get('serial', '?')}: {' / '.join(parts) or 'versions not observed'}")
    return [_clean(line) for line in lines]


def _registry(matrix):
    from rknn_envcheck.citations import Registry

    return Registry.from_matrix(matrix)


def _html_citations(registry, source: str) -> str:
    """The documents a source cites, each with a link a user can open."""
    parts = []
    for citation in registry.cite(source):
        text = citation.text()
        if citation.url:
            text = text.replace(f" — {citation.url}", "")
            parts.append(f'{html.escape(_clean(text))} <a href="{html.escape(citation.url)}">{html.escape(citation.url)}</a>')
        else:
            parts.append(html.escape(_clean(text)))
    return "; ".join(parts)


def render_html(views, matrix, facts=None) -> str:
    registry = _registry(matrix)
    notes = _Footnotes()
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           "<title>RKNN compatibility matrix</title>", f"<style>{_CSS}</style></head><body>",
           "<h1>RKNN compatibility matrix</h1>",
           f'<p class="note">rknn-envcheck {html.escape(__version__)} · matrix {html.escape(matrix.version)} ({html.escape(matrix.date)}). '
           "Hover a cell for its sources; numbers point to the list at the end.</p>"]
    yours = _yours_lines(facts) if facts else []
    if yours:
        out.append('<div class="yours" id="yours"><strong>Your environment</strong> (highlighted below):<ul>'
                   + "".join(f"<li>{html.escape(line)}</li>" for line in yours) + "</ul></div>")
    for view in views:
        out.append(f'<h2 id="{html.escape(view.key)}">{html.escape(view.title)}</h2>')
        for table in view.tables:
            out.append(f"<h3>{html.escape(table.title)}</h3>")
            if not table.rows:
                out.append('<p class="note">no rows in the matrix</p>')
                continue
            head = "".join(f'<th{" class=mine" if (table.column_mine[i] if i < len(table.column_mine) else False) else ""}>{html.escape(c)}</th>'
                           for i, c in enumerate(table.columns))
            out.append(f"<table data-table=\"{html.escape(table.title.split(':')[0])}\"><thead><tr><th>release</th>{head}</tr></thead><tbody>")
            for label, cells, mine in table.rows:
                tds = []
                for cell in cells:
                    classes = [c for c, on in (("mine", cell.mine), ("empty", not cell.text)) if on]
                    title = " | ".join(_clean(registry.text(s)) for s in cell.sources)
                    refs = "".join(f'<sup><a href="#src-{notes.number(s)}">{notes.number(s)}</a></sup>' for s in cell.sources)
                    extra = f'<div class="note">{html.escape(_clean(cell.note))}</div>' if cell.note else ""
                    tds.append(f'<td{" class=" + chr(34) + " ".join(classes) + chr(34) if classes else ""}'
                               f'{" title=" + chr(34) + html.escape(title) + chr(34) if title else ""}>'
                               f"{html.escape(_clean(cell.text)) or '—'}{refs}{extra}</td>")
                out.append(f'<tr{" class=mine" if mine else ""}><th>{html.escape(_clean(label))}</th>{"".join(tds)}</tr>')
            out.append("</tbody></table>")
    out.append('<h2 id="sources">Sources</h2><ol class="sources">')
    for source, number in sorted(notes.numbers.items(), key=lambda item: item[1]):
        out.append(f'<li id="src-{number}">{_html_citations(registry, source)}</li>')
    out.append("</ol></body></html>")
    return "\n".join(out) + "\n"


def render_markdown(views, matrix, facts=None) -> str:
    registry = _registry(matrix)
    notes = _Footnotes()

    def md(text: str) -> str:
        text = _clean(text)
        for ch in "\\|`*_[]<>":
            text = text.replace(ch, "\\" + ch)
        return text

    out = ["# RKNN compatibility matrix", "", f"rknn-envcheck {__version__} · matrix {matrix.version} ({matrix.date})", ""]
    for line in _yours_lines(facts) if facts else []:
        out.append(f"- yours: {md(line)}")
    for view in views:
        out += ["", f"## {md(view.title)}"]
        for table in view.tables:
            out += ["", f"### {md(table.title)}", ""]
            if not table.rows:
                out.append("(no rows)")
                continue
            out.append("| release | " + " | ".join(md(c) for c in table.columns) + " |")
            out.append("|---|" + "---|" * len(table.columns))
            for label, cells, mine in table.rows:
                shown = []
                for cell in cells:
                    refs = "".join(f"[^{notes.number(s)}]" for s in cell.sources)
                    text = md(cell.text) or "—"
                    shown.append((f"**{text}**" if cell.mine else text) + refs)
                out.append(f"| {'**' + md(label) + '**' if mine else md(label)} | " + " | ".join(shown) + " |")
    out.append("")
    for source, number in sorted(notes.numbers.items(), key=lambda item: item[1]):
        out.append(f"[^{number}]: {md(registry.text(source))}")
    return "\n".join(out) + "\n"


def render_text(views, matrix, facts=None) -> str:
    out = [f"RKNN compatibility matrix · matrix {matrix.version} ({matrix.date}) · * = yours"]
    for line in _yours_lines(facts) if facts else []:
        out.append(f"  yours: {line}")
    for view in views:
        out += ["", view.title]
        for table in view.tables:
            out += ["", f"  {table.title}"]
            if not table.rows:
                out.append("    (no rows)")
                continue
            grid = [["release"] + list(table.columns)]
            for label, cells, mine in table.rows:
                grid.append([("* " if mine else "") + _clean(label)] + [(_clean(c.text) or "-") + (" *" if c.mine else "") for c in cells])
            widths = [min(max(len(r[i]) for r in grid), 40) for i in range(len(grid[0]))]
            for row in grid:
                out.append("    " + "  ".join(cell[:40].ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
    return "\n".join(out) + "\n"


def render_matrix(views, matrix, fmt: str = "text", facts=None) -> str:
    return {"html": render_html, "markdown": render_markdown}.get(fmt, render_text)(views, matrix, facts)
