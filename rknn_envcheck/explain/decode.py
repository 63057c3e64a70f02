"""Turn any log (file or stdin) into bounded chunks of line-aligned bytes the scanner can search.

Logs arrive as UTF-8, GBK (Chinese Windows consoles), UTF-16 with a BOM (PowerShell `>`), with ANSI
colours, CRLF or bare CR line ends, or as binary garbage. The fast path leaves plain UTF-8/GBK
bytes untouched (the needles are ASCII, so they are found in the raw bytes); only inputs that need
it are normalised, chunk by chunk, so memory stays bounded whatever the size.
"""
from __future__ import annotations

import codecs
import os
import re
import sys
from typing import BinaryIO, Iterator

from rknn_envcheck.errors import UsageError

CHUNK_SIZE = 8 << 20
# A "line" longer than this (binary garbage, a minified blob) is cut so memory stays bounded.
MAX_CARRY = 1 << 20
# Only this much of a very long line around a hit is decoded and matched.
LINE_WINDOW = 4096

_ANSI_BYTES = re.compile(rb"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")


class InputInfo:
    """What the input turned out to be (a plain class: this module is imported before grep starts,
    and `dataclasses` alone costs ~4 ms of start-up)."""

    def __init__(self, name: str, encoding: str = "utf-8", bom: bool = False, ansi: bool = False, cr_only: bool = False,
                 forced_cuts: int = 0, bytes_read: int = 0, notes: list[str] | None = None, scanner: str = "python"):
        self.name = name
        self.encoding = encoding  # what the raw bytes were: utf-8 / utf-16-le / utf-16-be (GBK is decided per line)
        self.bom = bom
        self.ansi = ansi
        self.cr_only = cr_only
        self.forced_cuts = forced_cuts
        self.bytes_read = bytes_read
        self.notes = notes if notes is not None else []
        self.scanner = scanner  # "grep" when stage 1 ran in the system grep, else "python"

    def __repr__(self) -> str:
        return f"InputInfo({self.__dict__!r})"


def open_log(path: str) -> tuple[BinaryIO, str]:
    """Open FILE or `-` (stdin) for binary reading; bad paths are usage errors (exit 2)."""
    if path == "-":
        if sys.stdin is None:  # `<&-`: Python sets sys.stdin to None
            raise UsageError("stdin is closed: nothing to explain. Pipe a log (`python3 app.py 2>&1 | rknn-envcheck explain -`) or give a file")
        return sys.stdin.buffer, "<stdin>"
    if os.path.isdir(path):
        raise UsageError(f"{path} is a directory; give the log file (or - to read stdin)")
    try:
        return open(path, "rb"), path
    except FileNotFoundError:
        raise UsageError(f"log file {path} does not exist") from None
    except PermissionError:
        raise UsageError(f"log file {path} cannot be read (permission denied)") from None
    except OSError as exc:
        raise UsageError(f"log file {path} cannot be read ({exc.strerror or exc})") from None


def _sniff(head: bytes, info: InputInfo) -> tuple[bytes, object]:
    """Strip a BOM and pick a transcoder for UTF-16 (with or without BOM)."""
    if head.startswith(codecs.BOM_UTF8):
        info.bom = True
        return head[3:], None
    for bom, enc in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if head.startswith(bom):
            info.bom, info.encoding = True, enc
            return head[2:], codecs.getincrementaldecoder(enc)(errors="replace")
    sample = head[:4096]
    if len(sample) >= 64:
        even_nul = sample[0::2].count(0)
        odd_nul = sample[1::2].count(0)
        half = len(sample) // 2
        # ASCII text in UTF-16 has a NUL in every other byte; binary garbage has them everywhere.
        if odd_nul > 0.4 * half and even_nul < 0.05 * half:
            info.encoding = "utf-16-le"
        elif even_nul > 0.4 * half and odd_nul < 0.05 * half:
            info.encoding = "utf-16-be"
        if info.encoding != "utf-8":
            return head, codecs.getincrementaldecoder(info.encoding)(errors="replace")
    return head, None


def iter_chunks(stream: BinaryIO, info: InputInfo, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Yield chunks that end at a line end (b"\\n"), normalised as needed; bounded by chunk_size + MAX_CARRY."""
    carry = b""
    transcoder = None
    first = True
    cutting = False  # the line being yielded in pieces has been counted in forced_cuts already
    while True:
        raw = stream.read(chunk_size)
        if first:
            first = False
            if not raw:
                return
            raw, transcoder = _sniff(raw, info)
            if b"\n" not in raw and b"\r" in raw and transcoder is None:
                info.cr_only = True
        if not raw and not carry:
            break
        info.bytes_read += len(raw)
        data = raw
        if transcoder is not None:
            data = transcoder.decode(raw, final=not raw).encode("utf-8", "replace")
        if info.cr_only:
            data = data.replace(b"\r", b"\n")
        if b"\x1b" in data:
            info.ansi = True
            data = _ANSI_BYTES.sub(b"", data)
        buf = carry + data if carry else data
        if not raw:
            if buf:
                yield buf
            break
        cut = buf.rfind(b"\n") + 1
        if cut == 0:
            if len(buf) > MAX_CARRY:
                info.forced_cuts += 0 if cutting else 1
                cutting = True
                yield buf
                carry = b""
            else:
                carry = buf
            continue
        carry = buf[cut:]
        if len(carry) > MAX_CARRY:  # a new line (after the line end at `cut`) is cut
            info.forced_cuts += 1
            cutting = True
            yield buf
            carry = b""
            continue
        cutting = False
        yield buf[:cut]
    return


def decode_line(raw: bytes) -> str:
    """One line's bytes → text: UTF-8, else GBK, else UTF-8 with replacement; CR and ANSI removed."""
    if len(raw) > LINE_WINDOW * 2:
        raw = raw[: LINE_WINDOW * 2]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = raw.decode("gbk")
        except UnicodeDecodeError:
            text = raw.decode("utf-8", "replace")
    if "\x1b" in text:
        text = _ANSI_BYTES.sub(b"", text.encode("utf-8", "replace")).decode("utf-8", "replace")
    # Line-end CRs go; a CR inside the line stays a CR (renderers show it as \x0d), never a
    # newline: "ok\r$ curl …|sh" in a log must not become a line of its own in the report.
    return text.strip("\r\n")
