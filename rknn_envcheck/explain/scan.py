"""Find the known messages in a log without running every regex on every line.

Stage 1 (per chunk, C speed): `bytes.find` of each needle literal — a handful of passes over the
chunk, no Python per ordinary line. Stage 2 (only on the few lines that contain a needle): decode
that line and run just the regexes of the messages tied to the needles it contains. Line numbers
come from counting b"\\n" between hits. Findings are capped per message, so memory stays bounded
even for a log with millions of RKNN lines.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO

from rknn_envcheck.explain.decode import LINE_WINDOW, InputInfo, decode_line, iter_chunks
from rknn_envcheck.explain.messages import Message, MessageSet

MAX_HITS_PER_MESSAGE = 20


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

    def _match_line(self, raw: bytes, line_no: int, needles: set[str], result: ScanResult) -> None:
        text = decode_line(raw)
        tried = set()
        for needle in needles:
            for message in self.by_needle.get(needle, ()):
                if message.id in tried:
                    continue
                tried.add(message.id)
                found = message.pattern.search(text)
                if not found:
                    continue
                finding = result.findings.get(message.id)
                if finding is None:
                    finding = result.findings[message.id] = Finding(message)
                finding.count += 1
                if len(finding.hits) < MAX_HITS_PER_MESSAGE:
                    groups = {k: v for k, v in found.groupdict().items() if v is not None}
                    finding.hits.append(Hit(line_no, text.strip()[:500], groups))


def scan_stream(stream: BinaryIO, name: str, messages: MessageSet) -> ScanResult:
    return Scanner(messages).scan(stream, InputInfo(name=name))


def scan_text(text: str, messages: MessageSet) -> ScanResult:
    import io

    return scan_stream(io.BytesIO(text.encode("utf-8")), "<text>", messages)
