"""Stage 1 of the scan by the system `grep`: one pass over the log for all needles at once.

One `grep -E` pass with the gate literals as one alternation (`^X` kept as an anchor) finds
every candidate line at once, where Python needs one `bytes.find` pass per needle. grep -E, not
-F: GNU grep's -F multi-literal search slows with every literal (~70 literals: ~0.35 s CPU on the
50 MB bench log) and `E `/`W ` (the toolkit's `^E `/`^W ` prefixes, unanchored in -F) cost most;
the -E automaton over the same set with real anchors takes about half (docs/decisions.md). grep
reports only the candidate lines (with their line numbers, plus `-A N` lines after each for the
`context_lines` keys); Python then decides which needles each line really holds (anchors on the
ANSI-stripped line, ANSI codes inside a needle) and runs only those messages' regexes — the same
stage 2 as the pure-Python scanner.

This module is imported before the heavy part of `explain`, so it imports nothing but `os`:
grep starts scanning while Python loads the matrix and the rules. Whenever grep cannot be trusted
to give exactly what the Python scanner would, the caller falls back to it (see `usable_head` and
`GrepRun.collect`): no grep, grep errors (busybox without -a), UTF-16, bare-CR line ends, a first
64 KiB without a line end, an over-long candidate line, grep out of memory.
"""
from __future__ import annotations

import os
import stat

HEAD_SIZE = 64 << 10
# Below this the pure-Python scan is cheaper than starting two processes.
MIN_SIZE = 1 << 20
# grep keeps a whole line in memory; a log that is one 200 MB line of binary data must not
# make it grow without bound: past this address-space limit it stops ("memory exhausted", exit 2)
# and the bounded Python scanner takes over. A normal run needs ~10 MiB.
GREP_MEMORY = 48 << 20
READ_SIZE = 1 << 20
ESC = "\x1b"


def read_scan_table(directory: str | None = None) -> dict | None:
    """Only the [scan] table of messages.toml ({"needles": [...], "context_lines": {...}, "grep_gate": [...]}), read
    without loading the matrix set (or even importing tomllib, json, re and dataclasses), so grep
    starts earlier: string operations only (the four regexes and json this used to take cost ~6 ms
    of the time before grep starts, where every millisecond counts twice: docs/decisions.md). A
    cheap reading of the plain shape messages.toml uses (one line per key, strings without
    escapes but `\\`); None when the table has another shape. Never trusted on its own: the
    caller compares it with the fully loaded set (messages.load_messages) and drops grep's run if
    they differ.
    """
    here = os.path.dirname(os.path.abspath(__file__))
    package = os.path.dirname(here)
    # the order of matrix.load_matrix: data inside the package, else the source tree's matrices/
    candidates = [os.path.join(package, "matrices", "messages.toml"), os.path.join(os.path.dirname(package), "matrices", "messages.toml")]
    if directory:
        candidates.insert(0, os.path.join(directory, "messages.toml"))
    for path in candidates:
        try:
            # Bounded like every TOML read (tomlfile.MAX_TOML_BYTES; not imported: start-up time):
            # a regular file only, opened non-blocking so a FIFO in --matrix DIR cannot hang.
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
            try:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    return None
                data = os.read(fd, (4 << 20) + 1)
            finally:
                os.close(fd)
            if len(data) > 4 << 20:
                return None
            text = data.decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        return _scan_table(text)
    return None


def _scan_table(text: str) -> dict | None:
    lines = text.split("\n")
    try:
        first = [line.rstrip() for line in lines].index("[scan]") + 1
    except ValueError:
        return None
    keys: dict[str, str] = {}
    for line in lines[first:]:
        if line.lstrip().startswith("["):
            break  # the next table
        name, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            keys[name.strip()] = value.strip()
    needles = _string_array(keys.get("needles", ""))
    gate = _string_array(keys.get("grep_gate", "[]"))
    context = keys.get("context_lines", "{}")
    if needles is None or gate is None or not (context.startswith("{") and context.endswith("}")):
        return None
    pairs = {}
    for item in filter(None, (p.strip() for p in context[1:-1].split(","))):
        name, sep, count = item.partition("=")
        name, count = name.strip(), count.strip()
        if not sep or len(name) < 3 or name[0] != '"' or name[-1] != '"' or '"' in name[1:-1] or "\\" in name or not count.isdigit():
            return None
        pairs[name[1:-1]] = int(count)
    return {"needles": needles, "context_lines": pairs, "grep_gate": gate}


def _string_array(value: str) -> list[str] | None:
    """`["a", "b\\.c"]` → ['a', 'b\\.c']: TOML basic strings whose only escape is `\\\\`
    (anything else → None, and the caller does not start grep)."""
    if not (value.startswith("[") and value.endswith("]")):
        return None
    out: list[str] = []
    rest = value[1:-1].strip()
    while rest:
        if rest[0] != '"':
            return None
        end = rest.find('"', 1)
        while end > 0 and _escaped(rest, end):
            end = rest.find('"', end + 1)
        if end < 0:
            return None
        raw = rest[1:end]
        if "\\" in raw.replace("\\\\", ""):
            return None  # an escape other than \\\\: not this cheap reading's shape
        out.append(raw.replace("\\\\", "\\"))
        rest = rest[end + 1:].lstrip()
        if rest.startswith(","):
            rest = rest[1:].lstrip()
        elif rest:
            return None
    return out


def _escaped(text: str, index: int) -> bool:
    """Whether text[index] is preceded by an odd number of backslashes."""
    count = 0
    while index - count - 1 >= 0 and text[index - count - 1] == "\\":
        count += 1
    return count % 2 == 1


def usable_head(head: bytes) -> bool:
    """True when the log's start shows plain line-ended bytes grep can scan as they are.

    Mirrors decode._sniff / iter_chunks: a UTF-16 log (BOM or NUL pattern) needs transcoding,
    and a start without any b"\\n" may be a bare-CR log — both are the Python scanner's job.
    """
    from rknn_envcheck.explain.decode import InputInfo, _sniff

    if b"\n" not in head:
        return False
    info = InputInfo(name="")
    _sniff(head, info)
    return info.encoding == "utf-8"


_ERE_SPECIAL = frozenset("\\.[]()*+?{}|^$")
UTF8_BOM = "\ufeff"  # as an argv string it reaches grep as the bytes EF BB BF


def grep_patterns(needles: list[str], bom: bool = False) -> list[str] | None:
    """The alternatives of the grep -E pattern: each literal with the ERE specials escaped, `^X`
    kept as an anchor, plus ESC so a line whose needle is split by a colour code is still a
    candidate, plus the UTF-8 BOM when the log starts with one (line 1 `<BOM>E …` does not match
    `^E `; stage 2 strips the BOM). None when one cannot be a grep literal (empty, a line end)."""
    patterns = []
    for needle in needles:
        anchored = needle.startswith("^")
        literal = needle[1:] if anchored else needle
        if not literal or "\n" in literal or "\r" in literal or "\0" in literal:
            return None
        escaped = "".join("\\" + c if c in _ERE_SPECIAL else c for c in literal)
        patterns.append("^" + escaped if anchored else escaped)
    patterns.append(ESC)
    if bom:
        patterns.append(UTF8_BOM)
    return patterns


class GrepRun:
    """A running `grep` over one open log (fd), and optionally `wc -l` for the line count."""

    def __init__(self, pid: int, out_fd: int, wc_pid: int | None, wc_fd: int | None, fd: int, size: int, head: bytes):
        self.pid = pid
        self.out_fd = out_fd
        self.wc_pid = wc_pid
        self.wc_fd = wc_fd
        self.fd = fd  # the log itself (grep's stdin), for a line count if wc fails
        self.size = size
        self.head = head
        self.last_byte = os.pread(fd, 1, size - 1) if size else b""
        self.finished = False
        self.table: dict | None = None

    # ---------------------------------------------------------------- lifecycle

    def _reap(self, pid: int | None, kill: bool = False) -> int | None:
        if pid is None:
            return None
        if kill:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            return None
        return os.waitstatus_to_exitcode(status)

    def abandon(self) -> None:
        """Stop grep/wc (an over-long line, an error while reading) and close the pipes."""
        if self.finished:
            return
        self.finished = True
        for fd in (self.out_fd, self.wc_fd):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._reap(self.pid, kill=True)
        self._reap(self.wc_pid, kill=True)

    def line_count(self) -> int | None:
        """Newlines in the log, from `wc -l` (None if it failed: the caller counts itself)."""
        if self.wc_fd is None:
            return None
        chunks = []
        try:
            while True:
                data = os.read(self.wc_fd, 4096)
                if not data:
                    break
                chunks.append(data)
        finally:
            os.close(self.wc_fd)
            self.wc_fd = None
        code = self._reap(self.wc_pid)
        self.wc_pid = None
        text = b"".join(chunks).strip()
        if code != 0 or not text.isdigit():
            return None
        return int(text)

    def lines(self, max_line: int, same_min: int = 0):
        """Yield grep's output lines (without b"\\n"); raise LineTooLong past max_line bytes.

        With same_min, a run of at least that many matching lines (`N:text`) of one text with
        consecutive numbers — a retry loop, `yes … | explain -` — is found by one regex in C and
        given as its first line, then a tuple (text, how many more, the next line's number):
        4.8 M such lines cost ~5 s as lines, one Python step each."""
        pending = b""
        fd = self.out_fd
        while True:
            data = os.read(fd, READ_SIZE)
            if not data:
                break
            if pending:
                data = pending + data
            end = data.rfind(b"\n") + 1
            pending = data[end:]
            if len(pending) > max_line:
                raise LineTooLong()
            if same_min and end:
                yield from _with_runs(data, end, same_min)
            else:
                yield from data[:end].split(b"\n")[:-1]
        if pending:
            yield pending

    def wait(self) -> int | None:
        """grep's exit code (0 found, 1 nothing found, 2 error; negative = killed)."""
        os.close(self.out_fd)
        self.finished = True
        code = self._reap(self.pid)
        if code not in (0, 1):
            self._reap(self.wc_pid, kill=True)
            if self.wc_fd is not None:
                os.close(self.wc_fd)
            self.wc_pid = self.wc_fd = None
        return code


_RUNS: dict = {}


def _with_runs(data: bytes, end: int, same_min: int):
    """data[:end] (whole lines) as lines, runs of same_min or more identical matching lines with
    consecutive numbers folded as described in GrepRun.lines. A run whose numbers are not
    consecutive (matches far apart, no -A context between them) stays lines."""
    pattern = _RUNS.get(same_min)
    if pattern is None:
        import re

        # ESC excluded: an ANSI-coloured line is stripped line by line before it is judged
        pattern = _RUNS[same_min] = re.compile(rb"^([0-9]+):([^\n\x1b]*)\n(?:[0-9]+:\2\n){%d,}" % (same_min - 1), re.M)
    pos = 0
    for found in pattern.finditer(data, 0, end):
        block = found.group(0)
        count = block.count(b"\n")
        last = block.rfind(b"\n", 0, len(block) - 1) + 1
        first_no = int(found.group(1))
        if int(block[last:block.index(b":", last)]) - first_no + 1 != count:
            continue  # not consecutive: given as lines with what follows
        yield from data[pos:found.start()].split(b"\n")[:-1]
        yield block[:block.index(b"\n")]
        yield (found.group(2), count - 1, first_no + 1)
        pos = found.end()
    yield from data[pos:end].split(b"\n")[:-1]


class LineTooLong(Exception):
    """A candidate line longer than the Python scanner's MAX_CARRY: its cut semantics apply."""


def _spawn(argv: list[str], stdin_fd: int, env: dict) -> tuple[int, int]:
    read_end, write_end = os.pipe()
    try:
        # Room for a typical run's whole output, so grep never waits for Python's imports.
        import fcntl

        fcntl.fcntl(read_end, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except (ImportError, OSError):
        pass
    actions = [(os.POSIX_SPAWN_DUP2, stdin_fd, 0), (os.POSIX_SPAWN_DUP2, write_end, 1),
               (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)]
    try:
        pid = os.posix_spawnp(argv[0], argv, env, file_actions=actions)
    except BaseException:
        os.close(read_end)
        os.close(write_end)
        raise
    os.close(write_end)
    return pid, read_end


def _limit_memory(pid: int) -> None:
    try:
        import resource

        resource.prlimit(pid, resource.RLIMIT_AS, (GREP_MEMORY, GREP_MEMORY))
    except (ImportError, OSError, ValueError, AttributeError):
        pass


def start(fd: int, path: str | None, needles: list[str], after: int, size: int, head: bytes, table: dict | None = None) -> GrepRun | None:
    """Start `grep` on the open log `fd` (at offset 0) and `wc -l` on a second handle of it.

    Returns None when grep cannot be started (not installed, no posix_spawn): the caller scans
    in Python. `after` = the largest context_lines count (0: no -A).
    """
    patterns = grep_patterns(needles, bom=head.startswith(UTF8_BOM.encode()))
    if patterns is None or not hasattr(os, "posix_spawnp"):
        return None
    env = {k: v for k, v in os.environ.items() if not k.startswith("GREP_")}
    env["LC_ALL"] = "C"  # bytes, not characters: no multibyte decoding, no locale files
    argv = ["grep", "-a", "-n", "-E"]
    if after > 0:
        argv += ["-A", str(after)]
    # one alternation, not one -e per literal: GNU grep turns several plain -e literals back into
    # its -F search, the slow path this avoids
    argv += ["-e", "|".join(patterns)]
    try:
        pid, out_fd = _spawn(argv, fd, env)
    except OSError:
        return None
    _limit_memory(pid)
    wc_pid = wc_fd = None
    try:
        second = os.open(path if path else f"/proc/self/fd/{fd}", os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        second = None
    if second is not None:
        try:
            wc_pid, wc_fd = _spawn(["wc", "-l"], second, env)
        except OSError:
            wc_pid = wc_fd = None
        finally:
            os.close(second)
    run = GrepRun(pid, out_fd, wc_pid, wc_fd, fd, size, head)
    run.table = table  # the [scan] table grep was started with (the caller checks it against the loaded set)
    return run
