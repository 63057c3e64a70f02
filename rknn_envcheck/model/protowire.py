"""A bounded reader of the protobuf wire format (https://protobuf.dev/programming-guides/encoding/).

Why hand-written: `onnx.load` and TensorFlow's parsers build the whole message in memory (a 1 GB
ONNX file costs > 1 GB), and neither may be a runtime dependency. Two levels are offered:

* `Stream` walks a message in a file field by field: a length-delimited field is returned as
  (offset, length) without reading it, so weight payloads are skipped by seeking;
* `fields(buf)` walks a small message already read into memory (a node, an input).

Every length is checked against the bytes that remain, varints are at most 10 bytes, and
callers bound the nesting they follow (`MAX_DEPTH`). Any violation raises `WireError`, which the
format readers turn into one ModelFileError line.
"""
from __future__ import annotations

from typing import BinaryIO, Iterator

VARINT, I64, LEN, SGROUP, EGROUP, I32 = 0, 1, 2, 3, 4, 5
MAX_DEPTH = 32  # nested graphs (If/Loop bodies) deeper than this are hostile, not models
MAX_SMALL_MESSAGE = 16 * 1024 * 1024  # a node/input message read into memory at most this big


class WireError(ValueError):
    """The bytes are not a well-formed protobuf message (or exceed a bound)."""


def _varint(buf, pos: int, end: int) -> tuple[int, int]:
    result = shift = 0
    for _ in range(10):
        if pos >= end:
            raise WireError("varint runs past the end of its message")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
    raise WireError("varint longer than 10 bytes")


def fields(buf, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int, object]]:
    """(field number, wire type, value) of an in-memory message: ints for VARINT/I32/I64, a
    memoryview slice for LEN. Groups (deprecated, unused by ONNX/TF) are refused."""
    end = len(buf) if end is None else end
    view = memoryview(buf)
    pos = start
    while pos < end:
        key = buf[pos]
        if key < 0x80:
            pos += 1
        else:
            key, pos = _varint(buf, pos, end)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise WireError("field number 0")
        if wire == VARINT:
            value, pos = _varint(buf, pos, end)
        elif wire == LEN:
            length = buf[pos] if pos < end else 0x80
            if length < 0x80:
                pos += 1
            else:
                length, pos = _varint(buf, pos, end)
            if length > end - pos:
                raise WireError(f"field {number}: length {length} runs past the end of its message ({end - pos} bytes left)")
            value, pos = view[pos:pos + length], pos + length
        elif wire == I64:
            if end - pos < 8:
                raise WireError(f"field {number}: fixed64 runs past the end")
            value, pos = int.from_bytes(buf[pos:pos + 8], "little"), pos + 8
        elif wire == I32:
            if end - pos < 4:
                raise WireError(f"field {number}: fixed32 runs past the end")
            value, pos = int.from_bytes(buf[pos:pos + 4], "little"), pos + 4
        else:
            raise WireError(f"field {number}: wire type {wire} (groups or invalid) is not used by this format")
        yield number, wire, value


def text(value) -> str:
    try:
        return bytes(value).decode("utf-8")
    except (UnicodeDecodeError, TypeError):
        raise WireError("a string field is not UTF-8") from None


def signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


class Stream:
    """Field-by-field walk of a message stored in a file between `start` and `end`.

    Reads go through one window of at most WINDOW bytes, so small fields cost no system call;
    a field past the window (a skipped payload) moves the window instead of reading the payload."""

    MIN_WINDOW, MAX_WINDOW = 4096, 1 << 20

    def __init__(self, handle: BinaryIO, start: int, end: int, parent: "Stream | None" = None):
        self.handle, self.pos, self.end = handle, start, end
        self._buf, self._at, self._size = b"", start, self.MIN_WINDOW
        if parent is not None:  # a field of the parent: start from the bytes its window already holds
            self._buf, self._at = parent._buf, parent._at

    def _window(self, pos: int, need: int) -> int:
        """Make bytes [pos, pos+need) available (as far as the message goes); return their index in _buf.
        The window doubles while the walk is sequential (a run of nodes) and shrinks back after a
        jump (a skipped payload), so skipping 1,000 weights does not read 1,000 large windows."""
        if not (self._at <= pos and pos + need <= self._at + len(self._buf)):
            sequential = pos <= self._at + len(self._buf) + 64
            self._size = min(self._size * 2, self.MAX_WINDOW) if sequential else self.MIN_WINDOW
            self.handle.seek(pos)
            self._buf, self._at = self.handle.read(min(max(need, self._size), self.end - pos)), pos
        return pos - self._at

    def __iter__(self) -> Iterator[tuple[int, int, int, int]]:
        """(field number, wire type, value or offset, length): LEN fields are not read."""
        while self.pos < self.end:
            index = self._window(self.pos, min(20, self.end - self.pos))
            buf, limit = self._buf, min(len(self._buf), index + 20)
            key, index = _varint(buf, index, limit) if buf[index] >= 0x80 else (buf[index], index + 1)
            number, wire = key >> 3, key & 7
            if number == 0:
                raise WireError(f"field number 0 at byte {self.pos}")
            if wire == VARINT:
                value, index = _varint(buf, index, limit)
                self.pos = self._at + index
                yield number, wire, value, 0
            elif wire == LEN:
                length = buf[index] if index < limit else 0x80
                length, index = (length, index + 1) if length < 0x80 else _varint(buf, index, limit)
                self.pos = offset = self._at + index
                if length > self.end - offset:
                    raise WireError(f"field {number} at byte {offset}: length {length} runs past the end of its message "
                                    f"({self.end - offset} bytes left; truncated file?)")
                self.pos += length
                yield number, wire, offset, length
            elif wire in (I64, I32):
                width = 8 if wire == I64 else 4
                self.pos = self._at + index
                if self.end - self.pos < width:
                    raise WireError(f"field {number}: fixed{width * 8} runs past the end")
                index = self._window(self.pos, width)
                value = int.from_bytes(self._buf[index:index + width], "little")
                self.pos += width
                yield number, wire, value, width
            else:
                raise WireError(f"field {number} at byte {self.pos}: wire type {wire} (groups or invalid)")

    def read(self, offset: int, length: int, what: str) -> bytes:
        """The bytes of one small LEN field (a node, a name), refused above MAX_SMALL_MESSAGE."""
        if length > MAX_SMALL_MESSAGE:
            raise WireError(f"{what} of {length} bytes is larger than the {MAX_SMALL_MESSAGE >> 20} MiB a graph entry may have")
        if self._at <= offset and offset + length <= self._at + len(self._buf):
            return self._buf[offset - self._at:offset - self._at + length]
        self.handle.seek(offset)
        data = self.handle.read(length)
        if len(data) != length:
            raise WireError(f"{what}: file ended inside it")
        return data
