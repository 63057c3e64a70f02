"""render/: text, markdown and json renderings of the same Report, for every status; the compact
one-screen wrapping; colour on a terminal only (and never with NO_COLOR set); json exact."""
from __future__ import annotations

import io
import json
import re

import pytest

from rknn_envcheck.render import render
from rknn_envcheck.report import CRASHED, FAIL, OK, SKIPPED, STATUSES, UNKNOWN, WARN, Check, Fix, Report
from rknn_envcheck.shellcmd import cmd

TAGS = {OK: "[ ok ]", WARN: "[warn]", FAIL: "[FAIL]", UNKNOWN: "[ ?? ]", SKIPPED: "[skip]", CRASHED: "[BUG!]"}
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _check(status: str, n: int = 0, subject: str = "host") -> Check:
    return Check(f"demo.{status}.{n}", f"Title {status} {n}", status, component="rknn_server", subject=subject,
                 observed=f"observed-{status}-{n}", how=f"how-{status}", expected=f"expected-{status}", source=f"source-{status}",
                 message=f"message {status} {n}", evidence=[f"evidence-{status}"],
                 fix=Fix(f"fix text {status}", [cmd("adb", "push", f"file-{status}", "/usr/bin/")]) if status != OK else None)


def _report(statuses=STATUSES, compact: bool = False) -> Report:
    report = Report(command="demo", matrix_version="2026.1", matrix_date="2026-01-01", compact=compact,
                    facts={"schema": "rknn-envcheck/facts/1", "host": {"os": "linux"}, "devices": []})
    report.subjects["host"] = "Host (demo)"
    for status in statuses:
        report.add(_check(status))
    return report


@pytest.mark.parametrize("status", STATUSES)
def test_text_shows_each_status_with_its_tag_and_details_for_problems(status):
    out = render(_report([status]), "text")
    assert TAGS[status] in out
    if status == SKIPPED:  # beside other rows, a not-applicable row is shown with -v only
        assert TAGS[SKIPPED] not in render(_report([OK, SKIPPED]), "text")
        assert TAGS[SKIPPED] in render(_report([OK, SKIPPED]), "text", verbose=True)
    if status in (FAIL, WARN, UNKNOWN, CRASHED):
        for part in (f"observed: observed-{status}-0", "(read from how-", f"expected: expected-{status}", f"(per source-{status})",
                     f"evidence: evidence-{status}", f"fix:      fix text {status}", f"$ adb push file-{status} /usr/bin/"):
            assert part in out, part
    else:
        assert "observed:" not in out and "fix:" not in out
    verbose = render(_report([status]), "text", verbose=True)
    assert TAGS[status] in verbose and f"observed: observed-{status}-0" in verbose and "ms)" in verbose


@pytest.mark.parametrize("status, verdict", [(OK, "OK"), (WARN, "WARN"), (FAIL, "FAIL"), (UNKNOWN, "UNKNOWN"),
                                             (CRASHED, "UNKNOWN"), (SKIPPED, "NOT CHECKED")])
def test_text_heading_verdict_and_summary_line(status, verdict):
    out = render(_report([status]), "text")
    assert f"Host (demo) — {verdict}" in out
    last = out.rstrip("\n").splitlines()[-1]
    if status in (FAIL, WARN):
        assert last.startswith("1 problem (")
    elif status in (UNKNOWN, CRASHED):
        assert last.startswith("no problems found, but some things could not be checked")
    elif status == OK:
        assert last == "all clear (1 ok)"


@pytest.mark.parametrize("status", STATUSES)
def test_markdown_has_a_table_row_per_check_and_details_for_problems(status):
    out = render(_report([status]), "markdown")
    row = next(line for line in out.splitlines() if line.startswith(f"| {status} |"))
    assert f"Title {status} 0" in row and f"observed-{status}-0" in row and f"expected-{status}" in row
    details = f"- **Title {status} 0** ({status})"
    assert (details in out) == (status != OK)
    if status not in (OK,):
        assert "```sh" in out and f"adb push file-{status} /usr/bin/" in out


@pytest.mark.parametrize("status", STATUSES)
def test_json_is_exact_and_round_trips(status):
    report = _report([status])
    data = json.loads(render(report, "json"))
    assert data["summary"][status] == 1 and sum(data["summary"].values()) == 1
    (check,) = data["checks"]
    assert check["status"] == status and check["observed"] == f"observed-{status}-0" and check["how"] == f"how-{status}"
    assert data["exit_code"] == report.exit_code()
    if status != OK:
        assert check["fix"]["commands"][0]["argv"] == ["adb", "push", f"file-{status}", "/usr/bin/"]


def test_json_keeps_outside_text_exact():
    report = _report([FAIL])
    report.checks[0].observed = "caf\u00e9 \x1b[2J | `x`"
    data = json.loads(render(report, "json"))
    assert data["checks"][0]["observed"] == "caf\u00e9 \x1b[2J | `x`"


def test_compact_text_wraps_passing_checks_onto_shared_lines_of_at_most_110_chars():
    report = _report([], compact=True)
    for n in range(30):
        report.add(_check(OK, n))
    report.add(_check(FAIL, 99))
    lines = render(report, "text").splitlines()
    ok_lines = [i for i, line in enumerate(lines) if line.startswith("  [ ok ] ")]
    assert len(ok_lines) == 1  # one tag, continuation lines indented under it
    start = ok_lines[0]
    block = [lines[start]] + [line for line in lines[start + 1:] if line.startswith("         ") and " · " in line or line.startswith("         rknn_server")]
    assert len(block) > 1 and all(len(line) <= 110 for line in block)
    joined = " · ".join(line.strip().removeprefix("[ ok ] ") for line in block)
    assert all(f"observed-ok-{n}" in joined for n in range(30))
    assert "[FAIL] Title fail 99" in "\n".join(lines)
    # -v lists every check on its own line instead
    verbose = render(report, "text", verbose=True)
    assert verbose.count("[ ok ]") == 30


def test_a_fix_repeated_within_a_subject_is_named_not_reprinted():
    report = _report([])
    first, second = _check(FAIL, 1), _check(FAIL, 2)
    second.fix = first.fix
    report.extend([first, second])
    out = render(report, "text")
    assert out.count("$ adb push file-fail /usr/bin/") == 1
    assert "the same as for Title fail 1 above" in out


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("tty, no_color, term, coloured", [
    (True, None, "xterm", True),
    (True, "1", "xterm", False),
    (True, "", "xterm", True),  # no-color.org: only a non-empty NO_COLOR disables colour
    (True, None, "dumb", False),
    (False, None, "xterm", False),
])
def test_colour_only_on_a_terminal_that_wants_it(monkeypatch, tty, no_color, term, coloured):
    monkeypatch.setattr("sys.stdout", _Tty() if tty else io.StringIO())
    if no_color is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", no_color)
    monkeypatch.setenv("TERM", term)
    out = render(_report(), "text")
    assert bool(ANSI.search(out)) == coloured
    if coloured:
        assert "\x1b[31;1m[FAIL]\x1b[0m" in out and "\x1b[32m[ ok ]\x1b[0m" in out
    monkeypatch.setattr("sys.stdout", io.StringIO())
    assert ANSI.sub("", out) == render(_report(), "text")  # colour adds codes, nothing else
    # markdown and json never carry colour
    assert not ANSI.search(render(_report(), "markdown")) and "\\u001b[" not in render(_report(), "json")


def test_notes_and_subjects_in_order_in_every_format():
    report = _report([OK])
    report.subjects["device:B"] = "Board B"
    report.add(_check(WARN, 1, subject="device:B"))
    report.add(_check(FAIL, 2, subject="model:m.rknn"))  # undeclared subject still shown, after the declared ones
    report.notes.append("judged for rknn-toolkit2==2.3.2")
    for fmt in ("text", "markdown"):
        out = render(report, fmt)
        assert "judged for rknn-toolkit2==2.3.2" in out
        assert out.index("Host (demo)") < out.index("Board B") < out.index("model:m.rknn")
    data = json.loads(render(report, "json"))
    assert data["notes"] == ["judged for rknn-toolkit2==2.3.2"] and list(data["subjects"]) == ["host", "device:B"]


def test_text_does_not_repeat_a_title_the_message_opens_with_and_says_inferred_without_per():
    report = _report([])
    report.add(Check("demo.title", "The runtime is too old", FAIL, subject="host", observed="1.4.0", how="log line 2",
                     expected="1.5.2", source="inferred from seed §1.7.2",
                     message="The runtime is too old: format 6 needs 1.5.2", fix=Fix("update")))
    report.add(Check("demo.other", "Driver", FAIL, subject="host", observed="x", expected="y", source="seed §1.7.2",
                     message="driver missing", fix=Fix("install")))
    out = render(report, "text")
    assert "The runtime is too old: format 6 needs 1.5.2" in out
    assert out.count("The runtime is too old") == 1
    assert "Driver: driver missing" in out
    assert "(inferred from " in out and "(per inferred" not in out
    assert "(per " in out  # a direct source keeps its "per"
