"""Renderings of a merged fleet (rknn_envcheck/merge.py): text, markdown, JSON."""
from __future__ import annotations

import json

from rknn_envcheck.shellcmd import escape_unsafe

_BOARD_COLUMNS = (("host", "host"), ("serial", "board"), ("chip", "chip"), ("rknn_server", "rknn_server"),
                  ("runtime", "runtime"), ("driver", "driver"), ("host_toolkit", "toolkit on host"), ("verdict", "verdict"))
_HOST_COLUMNS = (("host", "host"), ("source", "file"), ("python", "python"), ("toolkit", "toolkit"), ("verdict", "verdict"))


def _cell(value) -> str:
    text = ", ".join(value) if isinstance(value, list) else str(value)
    return escape_unsafe(text) or "-"


def _md_cell(value) -> str:
    text = _cell(value)
    for ch in "\\|`*_[]<>":
        text = text.replace(ch, "\\" + ch)
    return text


def _table(rows, columns, failing_label: str = "failing checks") -> list[list[str]]:
    header = [label for _key, label in columns] + [failing_label]
    body = [[_cell(getattr(row, key)) for key, _label in columns] + [_cell(row.failing)] for row in rows]
    return [header] + body


def _text_table(table: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    return ["  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in table]


def render_merge(fleet, fmt: str = "text") -> str:
    if fmt == "json":
        return json.dumps(fleet.to_dict(), indent=2, ensure_ascii=False) + "\n"
    if fmt == "markdown":
        out = ["## rknn-envcheck merge", "", f"{len(fleet.sources)} files, {len(fleet.hosts)} hosts, {len(fleet.boards)} boards", ""]
        for title, rows, columns in (("Boards", fleet.boards, _BOARD_COLUMNS), ("Hosts", fleet.hosts, _HOST_COLUMNS)):
            out += [f"### {title}", ""]
            if not rows:
                out += ["(none)", ""]
                continue
            head = [label for _key, label in columns] + ["failing checks"]
            out.append("| " + " | ".join(head) + " |")
            out.append("|" + "---|" * len(head))
            for row in rows:
                out.append("| " + " | ".join([_md_cell(getattr(row, key)) for key, _l in columns] + [_md_cell(row.failing)]) + " |")
            out.append("")
        out += ["### Failing checks, and where", ""]
        for check_id, where in sorted(fleet.failing_where.items()):
            out.append(f"- `{_cell(check_id).replace('`', '')}`: {_md_cell(where)}")
        if not fleet.failing_where:
            out.append("(none)")
        return "\n".join(out).rstrip() + "\n"
    out = [f"rknn-envcheck merge · {len(fleet.sources)} files, {len(fleet.hosts)} hosts, {len(fleet.boards)} boards", "", "Boards"]
    out += _text_table(_table(fleet.boards, _BOARD_COLUMNS)) if fleet.boards else ["  (none)"]
    out += ["", "Hosts"]
    out += _text_table(_table(fleet.hosts, _HOST_COLUMNS)) if fleet.hosts else ["  (none)"]
    out += ["", "Failing checks, and where"]
    for check_id, where in sorted(fleet.failing_where.items()):
        out.append(f"  {_cell(check_id)}: {_cell(where)}")
    if not fleet.failing_where:
        out.append("  (none)")
    return "\n".join(out) + "\n"
