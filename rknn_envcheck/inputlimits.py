"""Bounded reading of input from outside (facts files, the `--python` probe's output, TOML data).

The limits (documented in docs/facts.md, "Limits"):
- a facts file is a regular file of at most MAX_FACTS_BYTES; a FIFO, a device or a socket is
  refused after os.stat and again after opening it with O_NONBLOCK (so neither `/dev/zero` nor a
  FIFO nobody writes to can make the run read forever or hang);
- JSON nested at most MAX_DEPTH levels, integers within ±MAX_INT, no NaN/Infinity (Python's
  json accepts them and would re-emit invalid JSON), strings and keys at most MAX_STRING chars,
  no lone surrogates (`"\\ud800"` decodes, then breaks every UTF-8 writer).
Every refusal is a UsageError (exit 2) with one line that names the source and cuts the value.
"""
from __future__ import annotations

import math
import os
import stat

from rknn_envcheck.errors import UsageError

MAX_FACTS_BYTES = 16 * 1024 * 1024
MAX_PROBE_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 64
MAX_STRING = 64 * 1024
MAX_INT = 2 ** 63 - 1
MAX_INT_DIGITS = 19
MAX_SHOWN = 200  # the longest piece of a value an error message quotes


def cut(text, limit: int = 60) -> str:
    """A value as an error message may quote it (the one helper for this: render/, udev/ and
    boards/ use it too): one line, control and reordering characters escaped (`\\x0a`,
    `\\u202e`), at most `limit` (≤ MAX_SHOWN) characters; a longer value is cut and says its
    length (a 10 MB bad environment variable is named, not echoed)."""
    from rknn_envcheck.shellcmd import UNSAFE_CHARS, escape_unsafe  # ~5 ms: only when a message is made

    text = text if isinstance(text, str) else str(text)
    if UNSAFE_CHARS.search(text):
        text = escape_unsafe(text)
    limit = min(limit, MAX_SHOWN)
    if len(text) <= limit:
        return text
    suffix = f"… ({len(text)} characters)"
    return text[: max(limit - len(suffix), 1)] + suffix


def shown(value, limit: int = 60) -> str:
    """`value` for an error message: scalars as JSON, containers by kind and size."""
    if isinstance(value, dict):
        return f"an object with {len(value)} key(s)"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    import json  # here, not at the top: `cut` is on every command's path, JSON only on some (~3 ms)

    try:
        text = json.dumps(value, ensure_ascii=True)
    except (TypeError, ValueError):
        text = repr(value)
    return cut(text, limit)


def _file_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def refuse_non_regular(path, what: str, limit: int | None = None, *, expected: str = "a JSON file written by --save-facts",
                       error: type = UsageError) -> os.stat_result:
    """os.stat before opening: a FIFO, a device or a socket is refused without being opened at
    all (opening some devices has effects); rknn_envcheck.safeio.read_regular_limited then opens
    it O_NONBLOCK and checks again with fstat, in case the path was swapped in between.
    `expected` says what the file should be (named when a directory is given); `error` is the
    UsageError subclass raised (model/header.py: ModelFileError). Returns the stat result."""
    name = os.fspath(path)
    try:
        before = os.stat(name)
    except FileNotFoundError:
        raise error(f"{what} {cut(name, 200)} does not exist") from None
    except OSError as exc:
        raise error(f"cannot read {what} {cut(name, 200)}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(before.st_mode):
        raise error(f"{what} {cut(name, 200)} is a directory; expected {expected}")
    if not stat.S_ISREG(before.st_mode):
        raise error(f"{what} {cut(name, 200)} is {_file_kind(before.st_mode)}; only regular files are read (copy it to a file first)")
    if limit is not None and before.st_size > limit:
        raise error(f"{what} {cut(name, 200)} is {before.st_size} bytes; the limit is {limit} bytes ({limit // (1024 * 1024)} MiB)")
    return before


def read_regular_file(path, what: str, limit: int) -> bytes:
    from rknn_envcheck.safeio import read_regular_limited

    refuse_non_regular(path, what, limit)
    return read_regular_limited(path, limit, what)


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS or abs(int(text)) > MAX_INT:
        raise _Refused(f"the integer {cut(text, 40)} is out of range (at most ±{MAX_INT})")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"the number {cut(text, 40)} is out of range")
    return value


def _parse_constant(text: str):
    raise _Refused(f"{text} is not JSON (NaN and Infinity are not numbers JSON allows)")


class _Refused(ValueError):
    pass


class LimitError(UsageError):
    """Well-formed JSON refused by a limit (depth, integer range, NaN/Infinity, Python's own limits)."""


def loads(text: str, source: str):
    """json.loads with the limits above (depth is checked by rknn_envcheck.facts_check's walk)."""
    import json

    try:
        return json.loads(text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant)
    except _Refused as exc:
        raise LimitError(f"{source}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{source} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise LimitError(f"{source}: JSON nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # e.g. Python's own int-digits limit
        raise LimitError(f"{source}: {cut(str(exc), 120)}") from None


def decode(data: bytes, source: str) -> str:
    """UTF-8 text; a leading byte-order mark (Notepad, PowerShell 5's `Out-File -Encoding utf8`)
    is dropped, as json.load would otherwise refuse the file."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{source} is not UTF-8 text (byte {exc.start}: {exc.reason})") from None
