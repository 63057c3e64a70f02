"""`rknn-envcheck explain [LOG | -]`: an RKNN error log → what went wrong, with the fix.

Optionally combined with what can be observed now: --facts FILE, --id/--device SERIAL (adb),
--emulate PROFILE, --host (this Python). Versions the log printed become facts and are judged by
the same rules as observed ones, so a log alone can give a full verdict.
"""
from __future__ import annotations

import sys


def add_arguments(parser) -> None:
    from rknn_envcheck.cli import add_output_options
    from rknn_envcheck.gather import add_board_arguments

    parser.add_argument("log", nargs="?", default="-", metavar="LOG", help="the log file, or - (default) to read stdin")
    parser.add_argument("--facts", metavar="F", help="also use a facts file saved with --save-facts")
    parser.add_argument("--host", action="store_true", help="also inspect this Python environment")
    add_board_arguments(parser, single=True)
    parser.add_argument("--device", metavar="SERIAL", dest="id", action="append", help="same as --id: also inspect this adb board")
    add_output_options(parser)


def _observed_facts(args, matrix) -> tuple[dict | None, list]:
    """Facts from --facts / --host / boards; None when nothing but the log is given."""
    facts = None
    connection_checks: list = []
    if args.facts:
        from rknn_envcheck.facts import load_facts

        facts = load_facts(args.facts)
    if args.host:
        from rknn_envcheck.probes.host import gather_host

        facts = facts or {"schema": "rknn-envcheck/facts/1", "host": {}, "devices": []}
        facts["host"] = gather_host(matrix=matrix)
    if args.id or args.all or args.emulate or args.local:
        from rknn_envcheck.gather import gather_boards

        devices, connection_checks = gather_boards(args, matrix)
        facts = facts or {"schema": "rknn-envcheck/facts/1", "host": {}, "devices": []}
        facts["devices"] = list(facts.get("devices") or []) + devices
    return facts, connection_checks


def explain_log(stream, name: str, messages):
    from rknn_envcheck.errors import UsageError
    from rknn_envcheck.explain.decode import InputInfo
    from rknn_envcheck.explain.scan import Scanner

    info = InputInfo(name=name)
    result = Scanner(messages).scan(stream, info)
    if info.bytes_read == 0:
        if name == "<stdin>":
            raise UsageError("stdin was empty: nothing to explain. Pipe a log (`python3 app.py 2>&1 | rknn-envcheck explain -`) or give a file")
        raise UsageError(f"log file {name} is empty: nothing to explain")
    return result


def _input_notes(result) -> list[str]:
    info = result.info
    what = [f"{result.lines} line(s) read from {info.name}", f"{result.candidate_lines} looked at closely"]
    if info.encoding != "utf-8":
        what.append(f"decoded as {info.encoding}")
    if info.bom:
        what.append("byte-order mark removed")
    if info.ansi:
        what.append("ANSI colour codes removed")
    if info.cr_only:
        what.append("CR line ends")
    if info.forced_cuts:
        what.append(f"{info.forced_cuts} over-long line(s) cut at 1 MiB (binary data?)")
    return ["log: " + ", ".join(what)]


def run(args) -> int:
    from rknn_envcheck.commands._common import emit, load_matrix_for
    from rknn_envcheck.errors import UsageError
    from rknn_envcheck.explain.decode import open_log
    from rknn_envcheck.explain.diagnose import diagnose, nothing_recognised, subject_for
    from rknn_envcheck.explain.facts_from_log import facts_from_log, merge_facts
    from rknn_envcheck.explain.messages import load_messages

    if args.log == "-" and sys.stdin is not None and sys.stdin.isatty():
        raise UsageError("no log given: pass a log file, or pipe one into `rknn-envcheck explain -`")
    messages = load_messages(getattr(args, "matrix", None))
    stream, name = open_log(args.log)
    try:
        result = explain_log(stream, name, messages)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    matrix = load_matrix_for(args)
    observed, connection_checks = _observed_facts(args, matrix)
    log_facts, notes = facts_from_log(result)
    facts, merge_notes = merge_facts(observed, log_facts)
    log_checks = diagnose(result, messages, facts, name)
    report = _judge(facts, matrix, observed is not None and bool((observed or {}).get("host")))
    subject = subject_for(name)
    if not result.findings:
        log_checks.append(nothing_recognised(name, result.lines, subject))
    report.checks[:0] = connection_checks + log_checks
    report.subjects = {subject: f"Log {name}", **report.subjects}
    report.notes[:0] = _input_notes(result) + notes + merge_notes
    report.notes.append(f"known messages: {messages.path} (version {messages.version}, {messages.date})")
    return emit(report, args)


def _judge(facts: dict, matrix, judge_host: bool):
    """Run the project's rules on the merged facts (evaluate = the one place rules are chosen)."""
    from rknn_envcheck.evaluate import evaluate
    from rknn_envcheck.report import Report

    try:
        return evaluate(facts, matrix, command="explain", host=judge_host, devices=True)
    except ImportError:  # rules not available in this build: the log findings still stand
        return Report(command="explain", matrix_version=matrix.version, matrix_date=matrix.date, facts=facts)
