"""Find the known messages in a log without running every regex on every line.

Stage 1 finds the lines holding a needle literal: for a log file of 1 MiB or more, the system
`grep -E` in one pass (grepscan.py, `scan_grep` below); otherwise, or when grep cannot give
exactly the same lines, per chunk in Python: `bytes.find` of each needle literal — a handful of
passes over the chunk, no Python per ordinary line. Stage 2 (only on the few lines that contain a needle): decode
that line and run just the regexes of the messages tied to the needles it contains. Line numbers
come from counting b"\\n" between hits. Findings are capped per message, so memory stays bounded
even for a log with millions of RKNN lines.
"""
from __future__ import annotations

import os
import re
from bisect import bisect_right
from typing import BinaryIO

from rknn_envcheck.explain.decode import _ANSI_BYTES, LINE_WINDOW, MAX_CARRY, InputInfo, decode_line, iter_chunks
from rknn_envcheck.explain.messages import Message, MessageSet
from rknn_envcheck.records import dataclass, field

MAX_HITS_PER_MESSAGE = 20
# grep's lines are judged in batches (bounded memory: a batch is at most ~1 MiB plus one line)
_BATCH_BYTES = 1 << 20
_BATCH_LINES = 8192
# grep -n output: "N:line" for a matching line, "N-line" for an -A context line, "--" between groups.
_GREP_PREFIX = re.compile(rb"([0-9]+)([:-])")
# runs of at least this many equal matching lines come from grep folded (GrepRun.lines)
_SAME_MIN = 16
_UTF8_BOM = b"\xef\xbb\xbf"
# distinct candidate lines remembered with their matches (a bounded memo; cleared when full)
_MEMO_LINES = 4096


@dataclass
class Hit:
    line_no: int
    text: str
    groups: dict


@dataclass
class Finding:
    message: Message
    hits: list[Hit] = field(default_factory=list)
    count: int = 0

    @property
    def first(self) -> Hit:
        return self.hits[0]


@dataclass
class ScanResult:
    info: InputInfo
    findings: dict[str, Finding]
    lines: int = 0
    candidate_lines: int = 0
    trailing_partial: bool = False

    def ordered(self) -> list[Finding]:
        return sorted(self.findings.values(), key=lambda f: f.first.line_no)


def _needle_bytes(needle: str) -> bytes:
    # "^X" means X at the start of a line: search for "\nX" (the chunk gets a leading "\n").
    return ("\n" + needle[1:] if needle.startswith("^") else needle).encode("utf-8")


class Scanner:
    def __init__(self, messages: MessageSet):
        self.messages = messages
        self.by_needle: dict[str, list[Message]] = {}
        for message in messages.messages:
            for needle in message.needles:
                self.by_needle.setdefault(needle, []).append(message)
        self.needles = [(n, _needle_bytes(n)) for n in messages.needles if n in self.by_needle]
        self.context = [(key, key.encode("utf-8"), count) for key, count in messages.context_lines.items()
                        if f"after:{key}" in self.by_needle]
        # For grep's candidate lines: which needles a line really holds ("^X" re-anchored here).
        self.plain = [(n, b) for n, b in self.needles if not n.startswith("^")]
        self.anchored = [(n, b[1:]) for n, b in self.needles if n.startswith("^")]
        self._by_set: dict[frozenset, _CandidateSet] = {}
        self._memo: dict[tuple, tuple] = {}
        # the last grep line judged: (line number, raw text, decoded text, matches; None = not a candidate)
        self._last: tuple | None = None

    @property
    def needle_names(self) -> list[str]:
        return [n for n, _ in self.needles]

    @property
    def context_max(self) -> int:
        return max((count for _, _, count in self.context), default=0)

    def scan(self, stream: BinaryIO, info: InputInfo) -> ScanResult:
        result = ScanResult(info=info, findings={})
        line_base = 1  # line number of the first line of the current chunk
        for chunk in iter_chunks(stream, info):
            line_base = self._scan_chunk(chunk, line_base, result)
        result.lines = line_base - 1 + (1 if result.trailing_partial else 0)
        return result

    def _scan_chunk(self, chunk: bytes, line_base: int, result: ScanResult) -> int:
        # A leading "\n" lets "^X" needles match on the chunk's first line; offsets shift by one.
        buf = b"\n" + chunk
        starts: dict[int, set[str]] = {}
        for name, needle in self.needles:
            pos = buf.find(needle)
            skip = 1 if name.startswith("^") else 0
            while pos != -1:
                hit = pos + skip
                start = buf.rfind(b"\n", 0, hit) + 1
                starts.setdefault(start, set()).add(name)
                end = buf.find(b"\n", hit)
                if end == -1:
                    break
                pos = buf.find(needle, end if not skip else end)
        if starts and self.context:
            for start in list(starts):
                end = buf.find(b"\n", start)
                line = buf[start:end if end != -1 else len(buf)]
                for key, key_bytes, count in self.context:
                    if key_bytes in line:
                        nxt = end
                        for _ in range(count):
                            if nxt == -1 or nxt + 1 >= len(buf):
                                break
                            starts.setdefault(nxt + 1, set()).add(f"after:{key}")
                            nxt = buf.find(b"\n", nxt + 1)
        lines_before = 0
        previous = 1  # offset in buf of the chunk's first line
        for start in sorted(starts):
            lines_before += buf.count(b"\n", previous, start)
            previous = start
            end = buf.find(b"\n", start)
            if end == -1:
                end = len(buf)
            raw = buf[start:end]
            if len(raw) > LINE_WINDOW * 2:
                raw = raw[:LINE_WINDOW * 2]
            self._match_line(raw, line_base + lines_before, starts[start], result)
        result.candidate_lines += len(starts)
        result.trailing_partial = not chunk.endswith(b"\n")
        return line_base + chunk.count(b"\n")

    def scan_grep(self, run, info: InputInfo) -> ScanResult | None:
        """Stage 2 over a running grep (grepscan.GrepRun). None = fall back to `scan`.

        Gives what `scan` gives for the same bytes: the needles of each line are decided here on
        the ANSI-stripped line (a BOM removed from line 1), `after:KEY` lines come from grep's -A
        lines, line numbers from grep -n, the line count from `wc -l`.
        """
        from rknn_envcheck.explain.grepscan import LineTooLong

        result = ScanResult(info=info, findings={})
        after: dict[int, set[str]] = {}
        prefix = _GREP_PREFIX.match
        batch: list[tuple[int, bool, bytes]] = []
        size = 0
        try:
            for line in run.lines(MAX_CARRY + 24, _SAME_MIN):
                if line.__class__ is tuple:  # more lines equal to the one before (GrepRun.lines)
                    size = self._same_again(line, batch, size, after, result)
                    continue
                found = prefix(line)
                if found is None:
                    continue  # "--" between context groups
                line_no = int(found.group(1))
                text = line[found.end():]
                if len(text) > MAX_CARRY:
                    # the Python scanner would cut this line (and see its tail as a line start)
                    raise LineTooLong()
                if line_no == 1 and text.startswith(_UTF8_BOM):
                    text = text[3:]
                if b"\x1b" in text:
                    info.ansi = True
                    text = _ANSI_BYTES.sub(b"", text)
                matched = found.group(2) == b":"
                if matched and not after and self._repeats(line_no, text, batch, after, result):
                    size = 0 if not batch else size  # _repeats may have judged the batch
                    continue
                size = self._batched(batch, size, (line_no, matched, text), after, result)
            self._grep_batch(batch, after, result)
        except (LineTooLong, OSError):
            run.abandon()
            return None
        code = run.wait()
        if code not in (0, 1):
            return None  # grep failed (busybox without -a, out of memory, killed): scan in Python
        newlines = run.line_count()
        if newlines is None:
            newlines = _count_newlines(run.fd, run.size)
        info.bom = bool(run.head.startswith(_UTF8_BOM))
        info.bytes_read = run.size - (3 if info.bom else 0)
        info.scanner = "grep"
        result.trailing_partial = run.size > 0 and run.last_byte != b"\n"
        result.lines = newlines + (1 if result.trailing_partial else 0)
        return result

    def _same_again(self, run: tuple, batch: list, size: int, after: dict, result: ScanResult) -> int:
        """What the per-line loop does for `count` more matching lines of `text` (no ESC, not line
        1), from line `first_no` on — once one of them is a repeat (`_repeats`), the rest are too,
        and are recorded at once. Returns the batch's new size."""
        text, count, first_no = run
        for line_no in range(first_no, first_no + count):
            if not after and self._repeats(line_no, text, batch, after, result):
                size = 0 if not batch else size
                rest, last = first_no + count - 1 - line_no, self._last
                if last[3] is not None and rest:
                    result.candidate_lines += rest
                    _record(last[3], line_no + 1, last[2], result, rest)
                self._last = (line_no + rest,) + last[1:]
                return size
            size = self._batched(batch, size, (line_no, True, text), after, result)
        return size

    def _batched(self, batch: list, size: int, line: tuple, after: dict, result: ScanResult) -> int:
        """Add one of grep's lines to the batch; judge the batch when it is full. Returns its size."""
        batch.append(line)
        size += len(line[2])
        if size >= _BATCH_BYTES or len(batch) >= _BATCH_LINES:
            self._grep_batch(batch, after, result)
            batch.clear()
            return 0
        return size

    def _repeats(self, line_no: int, text: bytes, batch: list, after: dict, result: ScanResult) -> bool:
        """A matching line equal to the line just before it (a retry loop printing one error
        100 000 times, `yes … | explain -`) is that line again: the same needles, the same
        findings, recorded under its own line number without the per-line batch work. True when
        the line was handled so. Lines with pending -A context are left to the batch path."""
        if batch:
            previous = batch[-1]
            if not (previous[1] and previous[0] == line_no - 1 and previous[2] == text):
                return False
            self._grep_batch(batch, after, result)  # judge the first of the run now
            batch.clear()
            if after:
                return False
        last = self._last
        if last is None or last[0] != line_no - 1 or last[1] != text:
            return False
        if last[3] is not None:
            result.candidate_lines += 1
            _record(last[3], line_no, last[2], result)
        self._last = (line_no,) + last[1:]
        return True

    def _grep_batch(self, batch: list, after: dict, result: ScanResult) -> None:
        """Stage 2 for a batch of grep's lines, in order: which needles each matching (":") line
        holds, found with one `bytes.find` pass per needle over the batch joined by b"\\n" (a
        per-line `needle in line` costs ~1 µs each: 140 needles × thousands of lines was the
        largest part of a run), then the `after:KEY` lines and the regexes of the held needles."""
        if not batch:
            return
        texts = [text for _, _, text in batch]
        joined = b"\n" + b"\n".join(texts)
        starts = []  # offset in `joined` of each line's first byte
        offset = 1
        for text in texts:
            starts.append(offset)
            offset += len(text) + 1
        held: list[set | None] = [None] * len(batch)
        last = len(batch) - 1
        for name, needle in self.needles:  # "^X" is searched as "\nX": X at a line start
            skip = 1 if needle[:1] == b"\n" else 0
            pos = joined.find(needle)
            while pos != -1:
                index = bisect_right(starts, pos + skip) - 1
                names = held[index]
                if names is None:
                    held[index] = {name}
                else:
                    names.add(name)
                if index == last:
                    break
                pos = joined.find(needle, starts[index + 1] - skip)
        window = LINE_WINDOW * 2
        context = self.context
        for (line_no, matched, text), names_here in zip(batch, held):
            names = after.pop(line_no, None) if after else None
            if matched and names_here:
                for key, key_bytes, count in context:
                    if key_bytes in text:
                        for k in range(1, count + 1):
                            after.setdefault(line_no + k, set()).add(f"after:{key}")
                names = names_here | names if names else names_here
            if not names:
                self._last = (line_no, text, None, None) if matched else None
                continue
            result.candidate_lines += 1
            decoded, matches = self._match_line(text[:window], line_no, names, result)
            self._last = (line_no, text, decoded, matches) if matched else None

    def _candidates(self, needles) -> "_CandidateSet":
        """The messages tied to these needles, once each, in file order, with a literal index."""
        key = frozenset(needles)
        found = self._by_set.get(key)
        if found is None:
            wanted = {m.id for n in key for m in self.by_needle.get(n, ())}
            found = self._by_set[key] = _CandidateSet([m for m in self.messages.messages if m.id in wanted])
        return found

    def _match_line(self, raw: bytes, line_no: int, needles: set[str], result: ScanResult) -> tuple:
        """Judge one candidate line and record its findings; returns (decoded text, matches)."""
        text = decode_line(raw)
        candidates = self._candidates(needles)
        # A log often repeats one line thousands of times (a retry loop, `yes`): judge it once.
        memo_key = (candidates, text)
        matches = self._memo.get(memo_key)
        if matches is None:
            matches = candidates.match(text)
            if len(self._memo) >= _MEMO_LINES:
                self._memo.clear()
            self._memo[memo_key] = matches
        _record(matches, line_no, text, result)
        return text, matches


def _record(matches: tuple, first_no: int, text: str, result: ScanResult, count: int = 1) -> None:
    """The findings of lines first_no … first_no+count-1, all of one text (a repeated line: at once)."""
    for message, groups in matches:
        finding = result.findings.get(message.id)
        if finding is None:
            finding = result.findings[message.id] = Finding(message)
        finding.count += count
        for line_no in range(first_no, first_no + min(count, MAX_HITS_PER_MESSAGE - len(finding.hits))):
            finding.hits.append(Hit(line_no, text.strip()[:500], dict(groups)))


class _CandidateSet:
    """The messages one needle set can lead to, indexed by their required literals.

    Checking each message's literals with `any(... in text)` cost ~1 µs per message: a generic
    needle such as `E RKNN:` leads to ~100 messages, so every repeated runtime error line paid for
    all of them. Here each distinct literal is tested once per line (a list comprehension of `in`,
    ~40 ns each; one regex alternation of the literals was slower: Python's re tries every
    alternative at every position) and only the messages holding a found literal run their regex.
    """

    def __init__(self, messages: list):
        self.messages = messages
        self.always = []  # indexes of messages without required literals: their regex always runs
        by_literal: dict[str, list[int]] = {}
        for index, message in enumerate(messages):
            literals = message.literals
            if literals is None:
                self.always.append(index)
            else:
                for literal in literals:
                    by_literal.setdefault(literal, []).append(index)
        self.literals = list(by_literal)
        self.by_literal = by_literal

    def match(self, text: str) -> tuple:
        chosen = set(self.always)
        by_literal = self.by_literal
        for literal in [lit for lit in self.literals if lit in text]:
            chosen.update(by_literal[literal])
        out = []
        for index in sorted(chosen):
            message = self.messages[index]
            found = message.pattern.search(text)
            if found:
                out.append((message, tuple((k, v) for k, v in found.groupdict().items() if v is not None)))
        return tuple(out)


def _count_newlines(fd: int, size: int) -> int:
    count, offset = 0, 0
    while offset < size:
        data = os.pread(fd, 1 << 20, offset)
        if not data:
            break
        count += data.count(b"\n")
        offset += len(data)
    return count


def scan_stream(stream: BinaryIO, name: str, messages: MessageSet) -> ScanResult:
    return Scanner(messages).scan(stream, InputInfo(name=name))


def scan_text(text: str, messages: MessageSet) -> ScanResult:
    import io

    return scan_stream(io.BytesIO(text.encode("utf-8")), "<text>", messages)
