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
        key, pos = _varint(buf, pos, end)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise WireError("field number 0")
        if wire == VARINT:
            value, pos = _varint(buf, pos, end)
        elif wire == LEN:
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
    """Field-by-field walk of a message stored in a file between `start` and `end`."""

    def __init__(self, handle: BinaryIO, start: int, end: int):
        self.handle, self.pos, self.end = handle, start, end

    def _read_varint(self) -> int:
        self.handle.seek(self.pos)
        head = self.handle.read(min(10, self.end - self.pos))
        value, used = _varint(head, 0, len(head))
        self.pos += used
        return value

    def __iter__(self) -> Iterator[tuple[int, int, int, int]]:
        """(field number, wire type, value or offset, length): LEN fields are not read."""
        while self.pos < self.end:
            key = self._read_varint()
            number, wire = key >> 3, key & 7
            if number == 0:
                raise WireError(f"field number 0 at byte {self.pos}")
            if wire == VARINT:
                yield number, wire, self._read_varint(), 0
            elif wire == LEN:
                length = self._read_varint()
                if length > self.end - self.pos:
                    raise WireError(f"field {number} at byte {self.pos}: length {length} runs past the end of its message "
                                    f"({self.end - self.pos} bytes left; truncated file?)")
                offset = self.pos
                self.pos += length
                yield number, wire, offset, length
            elif wire in (I64, I32):
                width = 8 if wire == I64 else 4
                if self.end - self.pos < width:
                    raise WireError(f"field {number}: fixed{width * 8} runs past the end")
                self.handle.seek(self.pos)
                value = int.from_bytes(self.handle.read(width), "little")
                self.pos += width
                yield number, wire, value, width
            else:
                raise WireError(f"field {number} at byte {self.pos}: wire type {wire} (groups or invalid)")

    def read(self, offset: int, length: int, what: str) -> bytes:
        """The bytes of one small LEN field (a node, a name), refused above MAX_SMALL_MESSAGE."""
        if length > MAX_SMALL_MESSAGE:
            raise WireError(f"{what} of {length} bytes is larger than the {MAX_SMALL_MESSAGE >> 20} MiB a graph entry may have")
        self.handle.seek(offset)
        data = self.handle.read(length)
        if len(data) != length:
            raise WireError(f"{what}: file ended inside it")
        return data
