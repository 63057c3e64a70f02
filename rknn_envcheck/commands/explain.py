"""`rknn-envcheck explain [LOG | -]`: an RKNN error log → what went wrong, with the fix.

Optionally combined with what can be observed now: --facts FILE, --id/--device SERIAL (adb),
--emulate PROFILE, --host (this Python). Versions the log printed become facts and are judged by
the same rules as observed ones, so a log alone can give a full verdict.
"""
from __future__ import annotations

import sys


def add_arguments(parser) -> None:
    from rknn_envcheck.board_options import add_board_arguments
    from rknn_envcheck.options import add_output_options

    parser.add_argument("log", nargs="?", default="-", metavar="LOG", help="the log file, or - (default) to read stdin")
    parser.add_argument("--facts", metavar="F", help="also use a facts file saved with --save-facts")
    parser.add_argument("--host", action="store_true", help="also inspect this Python environment")
    add_board_arguments(parser, single=True)
    parser.add_argument("--device", metavar="SERIAL", dest="id", action="append", help="same as --id: also inspect this adb board")
    add_output_options(parser)


def _observed_sources(args, matrix) -> list:
    """The pipeline's sources for --facts / --host / boards (none when only the log is given)."""
    from rknn_envcheck.pipeline import BoardsSource, FactsFileSource, HostSource

    sources = []
    if args.facts:
        sources.append(FactsFileSource(args.facts))
    if args.host:
        sources.append(HostSource(None, 10.0, matrix=matrix))
    if args.id or args.all or args.emulate or args.local:
        sources.append(BoardsSource(args, matrix, listing_as_facts=False))
    return sources


def _start_grep(stream, name: str, matrix_dir: str | None):
    """Start the one-pass grep prefilter on a log file (or a file given as stdin); None = scan in Python.

    Needs only the [scan] table, so grep is already scanning while the matrix set is loaded.
    """
    import os
    import stat

    from rknn_envcheck.explain import grepscan

    try:
        fd = stream.fileno()
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size < grepscan.MIN_SIZE or os.lseek(fd, 0, os.SEEK_CUR) != 0:
            return None
        head = os.pread(fd, grepscan.HEAD_SIZE, 0)
    except (OSError, ValueError, AttributeError):
        return None
    if not grepscan.usable_head(head):
        return None
    table = grepscan.read_scan_table(matrix_dir)
    if table is None:
        return None
    after = max((n for n in table["context_lines"].values() if isinstance(n, int)), default=0)
    # a spooled pipe/FIFO is read through its own fd: reopening `name` (a FIFO) would read the writer's stream again
    path = None if name == "<stdin>" or getattr(stream, "spooled", False) else name
    # grep searches the gate (fewer literals, each needle contains one), else the needles themselves
    return grepscan.start(fd, path, table["grep_gate"] or table["needles"], after, st.st_size, head, table)


def _finish_scan(stream, name: str, messages, started):
    """grep's candidates through stage 2, or the pure-Python scan when grep was not started or failed."""
    from rknn_envcheck.errors import UsageError
    from rknn_envcheck.explain.decode import InputInfo
    from rknn_envcheck.explain.scan import Scanner

    scanner = Scanner(messages)
    result = None
    if started is not None:
        if started.table != {"needles": messages.needles, "context_lines": messages.context_lines, "grep_gate": messages.grep_gate}:
            started.abandon()  # grep searched for another needle set than the one loaded
        else:
            result = scanner.scan_grep(started, InputInfo(name=name))
        if result is None:
            stream.seek(0)  # grep could not be trusted: rescan the whole file in Python
    if result is None:
        result = scanner.scan(stream, InputInfo(name=name))
    if result.info.bytes_read == 0:
        if name == "<stdin>":
            raise UsageError("stdin was empty: nothing to explain. Pipe a log (`python3 app.py 2>&1 | rknn-envcheck explain -`) or give a file")
        raise UsageError(f"log file {name} is empty: nothing to explain")
    return result


def explain_log(stream, name: str, messages, matrix_dir: str | None = None):
    """Scan one log (file object) for the known messages: grep-backed when it can be, else Python."""
    return _finish_scan(stream, name, messages, _start_grep(stream, name, matrix_dir))


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
    if getattr(info, "scanner", "python") == "grep":
        what.append("needles found by grep")
    if info.forced_cuts:
        what.append(f"{info.forced_cuts} over-long line(s) read in pieces (binary data?)")
    if getattr(info, "stream_limited", False):
        what.append(f"stopped reading after {MAX_STREAM_BYTES >> 20} MiB (a pipe, FIFO or device: the rest is not searched)")
    return ["log: " + ", ".join(what)]


# A pipe, FIFO or device (stdin from `yes`, /dev/zero, a FIFO) may never end: read at most this
# much of it. A regular file is read whole (its size is known; grep scans big ones).
MAX_STREAM_BYTES = 64 << 20


class _BoundedStream:
    """A non-regular input cut after MAX_STREAM_BYTES; `limited` says whether it was."""

    def __init__(self, raw, limit: int):
        self.raw = raw
        self.left = limit
        self.limited = False

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            if not self.limited:
                self.limited = bool(self.raw.read(1))  # at the limit: was there more?
            return b""
        data = self.raw.read(self.left if size is None or size < 0 else min(size, self.left))
        self.left -= len(data)
        return data

    def seek(self, *args):
        return self.raw.seek(*args)

    def close(self) -> None:
        self.raw.close()


def bounded_stream(stream, limit: int | None = None):
    """`stream` itself when it is a regular file, else its first `limit` bytes copied into an
    unlinked temporary file (so grep can scan a pipe as it scans a file), else — no writable
    temporary directory — a reader that stops at the limit."""
    import os
    import stat

    try:
        if stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            return stream
    except (OSError, ValueError, AttributeError):
        pass
    bounded = _BoundedStream(stream, MAX_STREAM_BYTES if limit is None else limit)
    return _spool(bounded) or bounded


def _spool(bounded: _BoundedStream):
    """Copy a pipe (at most its limit) into an unlinked temporary file, 1 MiB at a time.

    Why: the Python scanner makes one `bytes.find` pass per needle (~160 needles: ~0.9 s per
    8 MiB of a verbose `I RKNN:` log), grep one pass for all — 64 MiB from `yes` took ~11 s in
    Python, well under 1 s through the file (docs/decisions.md). Memory stays one read buffer;
    the copy lives in the page cache / on disk. None when no temporary file can be written.
    """
    import tempfile

    try:
        spool = tempfile.TemporaryFile(prefix="rknn-envcheck-log-")
    except OSError:
        return None
    try:
        while True:
            data = bounded.read(1 << 20)
            if not data:
                break
            spool.write(data)
        spool.flush()
        spool.seek(0)
    except OSError:
        spool.close()
        raise
    spool.limited = bounded.limited  # type: ignore[attr-defined]
    spool.spooled = True  # type: ignore[attr-defined]
    return spool


def run(args) -> int:
    from rknn_envcheck.errors import UsageError
    from rknn_envcheck.explain.decode import open_log

    if args.log == "-" and sys.stdin is not None and sys.stdin.isatty():
        raise UsageError("no log given: pass a log file, or pipe one into `rknn-envcheck explain -`")
    matrix_dir = getattr(args, "matrix", None)
    stream, name = open_log(args.log)
    stream = bounded_stream(stream)
    started = None
    try:
        started = _start_grep(stream, name, matrix_dir)
        # with grep scanning on the other core, load what judging and rendering need meanwhile
        from rknn_envcheck.explain.messages import load_messages

        messages = load_messages(matrix_dir)
        if started is not None:
            _prefetch()
        result = _finish_scan(stream, name, messages, started)
        result.info.stream_limited = getattr(stream, "limited", False)
    finally:
        if started is not None:
            started.abandon()  # no-op once collected; stops grep if loading the messages failed
        if getattr(stream, "raw", stream) is not sys.stdin.buffer:
            stream.close()
    return _report(args, result, messages, name)


def _prefetch() -> None:
    """Import what _report needs while grep runs (each ~1-27 ms; together ~40 ms of start-up),
    and compile the citation registry's family patterns (re caches them for the renderer's own
    registry): ~70 ms of the report's work moved into grep's time on the bench log."""
    import importlib

    for module in ("rknn_envcheck.commands._common", "rknn_envcheck.evaluate", "rknn_envcheck.explain.diagnose",
                   "rknn_envcheck.explain.facts_from_log", "rknn_envcheck.pipeline", "rknn_envcheck.render", "rknn_envcheck.rules.device",
                   "rknn_envcheck.explain.wheeltags", "rknn_envcheck.fixplan", "rknn_envcheck.rules.connection", "packaging.version"):
        importlib.import_module(module)
    from rknn_envcheck.citations import default_registry

    default_registry().families  # noqa: B018 - compiles the family patterns into re's cache


def _report(args, result, messages, name: str) -> int:
    from rknn_envcheck.commands._common import emit, load_matrix_for
    from rknn_envcheck.explain.diagnose import diagnose, nothing_recognised, subject_for
    from rknn_envcheck.pipeline import LogSource, gather

    matrix = load_matrix_for(args)
    log = LogSource(result)  # a "fill" source: what --facts/--host/boards observe wins over the log
    facts, connection_checks = gather(_observed_sources(args, matrix) + [log], {"schema": "rknn-envcheck/facts/1", "host": {}, "devices": []})
    log_checks = diagnose(result, messages, facts, name, matrix)
    report = _judge(facts, matrix, log.host_observed)
    subject = subject_for(name)
    if not log_checks and not report.checks and not connection_checks:
        # version lines alone, nothing to judge them with: `unknown`, never "all clear (no checks ran)"
        log_checks.append(nothing_recognised(name, result.lines, subject, len(result.findings)))
    report.checks[:0] = connection_checks + log_checks
    from rknn_envcheck.explain.fixups import reconcile

    reconcile(report.checks)  # one verdict per component: no `ok` row beside a failing one
    report.subjects = {subject: f"Log {name}", **report.subjects}
    report.notes[:0] = _input_notes(result) + log.notes
    report.notes.append(f"known messages: {messages.path} (version {messages.version}, {messages.date})")
    return emit(report, args)


def _judge(facts: dict, matrix, judge_host: bool):
    """Run the project's rules on the merged facts (evaluate = the one place rules are chosen)."""
    from rknn_envcheck.report import Report

    if not facts.get("devices") and not judge_host:
        # nothing for the rules to judge (what evaluate() would return, without importing the rules)
        return Report(command="explain", matrix_version=matrix.version, matrix_date=matrix.date, facts=facts)
    from rknn_envcheck.evaluate import evaluate

    return evaluate(facts, matrix, command="explain", host=judge_host, devices=True)
