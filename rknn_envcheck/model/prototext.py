"""A bounded streaming reader of the protobuf text format (the `.prototxt` files Caffe reads).

Why hand-written: `google.protobuf.text_format` parses only into a message class built from the
schema (caffe.proto compiled with protoc); this tool ships no Caffe schema and no protoc output,
and needs only a handful of fields. The grammar is the public one
(https://protobuf.dev/reference/protobuf/textformat-spec/): `name: value`, `name { … }` or
`name < … >`, `name: [v, v]` short repeated form, `#` comments, "…" / '…' strings.

`walk(text)` yields (path, value) for every scalar and (path, START) / (path, END) around every
message, where path is the tuple of field names from the top. Nesting is bounded (MAX_DEPTH) and
the walk is iterative, so a nesting bomb ends as one TextFormatError, never a RecursionError.
"""
from __future__ import annotations

import re
import string
from typing import Iterator

MAX_DEPTH = 32  # caffe.proto nests 5 levels (layer > input_param > shape > dim); 32 is hostile
START, END = object(), object()

# One alternation without groups, so re.findall returns the token texts (the fastest walk CPython
# offers: a 2,000-layer net is 78,000 tokens); whitespace matches nothing and is skipped; the last
# alternative takes any other single character, which _tokens refuses unless it is a token itself.
_TOKEN = re.compile(r"""
    "(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'
  | [A-Za-z_][A-Za-z0-9_]*
  | [-+]?(?:[0-9][0-9A-Za-z_.+-]*|\.[0-9][0-9A-Za-z_.+-]*)
  | \[[A-Za-z_][A-Za-z0-9_./]*\]
  | \#[^\n]*
  | \S
""", re.VERBOSE)
_KINDS = {**dict.fromkeys("\"'", "string"), **dict.fromkeys("{}<>[]:,;", "punct"), "#": "comment",
          **dict.fromkeys(string.ascii_letters + "_", "ident"), **dict.fromkeys(string.digits + "+-.", "number")}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"'}


class TextFormatError(ValueError):
    """Not well-formed protobuf text (or past a bound); the message names the line."""


def _tokens(text: str) -> Iterator[tuple[str, str, int]]:
    """(kind, text, index of the token); the line of a token is found only for an error message."""
    kinds = _KINDS
    for index, value in enumerate(_TOKEN.findall(text)):
        kind = kinds.get(value[0], "")
        if kind == "ident" or kind == "number" or kind == "punct":
            if kind == "punct" and value[0] == "[" and len(value) > 1:
                kind = "extension"
        elif kind == "string":
            if len(value) < 2 or value[-1] != value[0]:
                raise _At(index, f"a string opened with {value[0]} is not closed on its line")
        elif kind == "comment":
            continue
        else:
            raise _At(index, f"unexpected character {value!r}")
        yield kind, value, index


def _line(text: str, token_index: int) -> int:
    for index, found in enumerate(_TOKEN.finditer(text)):
        if index == token_index:
            return text.count("\n", 0, found.start()) + 1
    return text.count("\n") + 1


def unquote(token: str) -> str:
    body = token[1:-1]
    if "\\" not in body:
        return body
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body)


def walk(text: str) -> Iterator[tuple[tuple, object]]:
    try:
        yield from _walk(_tokens(text))
    except _At as exc:
        token_index, message = exc.args
        raise TextFormatError(f"line {_line(text, token_index)}: {message}") from None


class _At(Exception):
    """(token index, message): an error whose line is counted once, when it is reported."""


def _walk(tokens) -> Iterator[tuple[tuple, object]]:
    path: list[str] = []
    closers: list[str] = []
    pending = None  # the field name waiting for its value
    for kind, value, at in tokens:
        if pending is None:
            if kind == "ident" or kind == "extension":
                pending = value
                continue
            if kind == "punct" and value in "}>" and closers:
                if value != closers[-1]:
                    raise _At(at, f"{value!r} closes a message opened with {'{' if closers[-1] == '}' else '<'}")
                closers.pop()
                yield tuple(path), END
                path.pop()
                continue
            if kind == "punct" and value in ",;":
                continue
            raise _At(at, f"expected a field name, found {value[:40]!r}")
        name, pending = pending, None
        if kind == "punct" and value == ":":
            kind, value, at = _next(tokens, at, name)
        if kind == "punct" and value in "{<":
            if len(path) >= MAX_DEPTH:
                raise _At(at, f"messages nested deeper than {MAX_DEPTH} levels")
            path.append(name)
            closers.append("}" if value == "{" else ">")
            yield tuple(path), START
        elif kind == "punct" and value == "[":
            for item in _list(tokens, at, name):
                yield (*path, name), item
        elif kind in ("string", "ident", "number"):
            yield (*path, name), unquote(value) if kind == "string" else value
        elif kind == "extension":  # `[CONVOLUTION]` after a field name: a one-element list, not an extension name
            yield (*path, name), value[1:-1]
        else:
            raise _At(at, f"field {name!r} has no value (found {value[:40]!r})")
    if pending is not None:
        raise TextFormatError(f"field {pending!r} at the end of the file has no value")
    if closers:
        raise TextFormatError(f"the file ends inside {len(closers)} unclosed message(s) ({'.'.join(path)})")


def _next(tokens, at: int, name: str):
    for token in tokens:
        return token
    raise _At(at, f"the file ends after {name!r}:")


def _list(tokens, at: int, name: str) -> Iterator[str]:
    expect_value = True
    for kind, value, at in tokens:
        if kind == "punct" and value == "]":
            return
        if expect_value and kind in ("string", "ident", "number"):
            yield unquote(value) if kind == "string" else value
            expect_value = False
        elif not expect_value and kind == "punct" and value == ",":
            expect_value = True
        else:
            raise _At(at, f"unexpected {value[:40]!r} in the list of {name!r} (messages in [ ] lists are not read)")
    raise TextFormatError(f"the file ends inside the list of {name!r}")
