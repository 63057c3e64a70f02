"""Validation of JSON against the facts model (rknn_envcheck.facts_model): types of the known
keys, the limits of rknn_envcheck.inputlimits for every value (known or not).

No jsonschema at run time: the model's TypedDicts are walked directly. The first problem found
raises UsageError with one line naming the path (`host.packages['numpy']`, `devices[0].how`)
and what was expected.
"""
from __future__ import annotations

import math
import re
import typing
from functools import lru_cache
from typing import Any, Union, get_args, get_origin

from rknn_envcheck.errors import UsageError
from rknn_envcheck.facts_model import Pattern
from rknn_envcheck.inputlimits import MAX_DEPTH, MAX_INT, MAX_STRING, cut, shown

_SCALARS = (str, int, float, bool)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class FactsError(UsageError):
    """A value at `path` does not fit the model (exit 2, one line)."""


def is_typeddict(tp) -> bool:
    return isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__total__")


@lru_cache(maxsize=None)
def fields_of(tp) -> dict:
    """TypedDict → {field: annotated type}, in declaration order. facts_model is written without
    `from __future__ import annotations`, so its annotations are objects already (no
    typing.get_type_hints: evaluating strings costs ~8 ms a run)."""
    return dict(tp.__annotations__)


def unwrap(tp) -> tuple:
    """(base type, doc strings, patterns) of a possibly Annotated type."""
    docs, patterns = [], []
    while get_origin(tp) is typing.Annotated:
        for meta in tp.__metadata__:
            if isinstance(meta, Pattern):
                patterns.append(meta)
            elif isinstance(meta, str):
                docs.append(meta)
        tp = tp.__origin__
    return tp, docs, patterns


def nullable_field(tp) -> bool:
    """A TypedDict field may be null when its type is a scalar (or says Optional)."""
    base, _docs, _patterns = unwrap(tp)
    origin = get_origin(base)
    if origin is Union:
        return type(None) in get_args(base) or all(nullable_field(a) for a in get_args(base))
    return not (origin in (list, dict) or is_typeddict(base) or base is Any)


def describe_type(tp) -> str:
    base, _docs, patterns = unwrap(tp)
    origin = get_origin(base)
    if origin is typing.Literal:
        values = get_args(base)
        return repr(values[0]) if len(values) == 1 else "one of " + ", ".join(repr(v) for v in values)
    if origin is Union:
        return " or ".join(describe_type(a) for a in get_args(base) if a is not type(None))
    if origin is list:
        return f"a list of {_plural(get_args(base)[0])}"
    if origin is dict or is_typeddict(base):
        return "an object"
    if patterns:
        return f"a string matching {patterns[0]}"
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(base, "any JSON value")


def _plural(tp) -> str:
    text = describe_type(tp)
    return {"a string": "strings", "an object": "objects", "an integer": "integers", "a number": "numbers"}.get(text, text)


def _same_kind(tp, value) -> bool:
    """Could `value` be of `tp` as far as its JSON kind (object, array, string, …) goes?"""
    base, _docs, _patterns = unwrap(tp)
    origin = get_origin(base)
    if origin is Union:
        return any(_same_kind(a, value) for a in get_args(base))
    if origin is list:
        return isinstance(value, list)
    if origin is dict or is_typeddict(base):
        return isinstance(value, dict)
    if origin is typing.Literal:
        return any(type(v) is type(value) for v in get_args(base))
    if base is Any:
        return True
    if base is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return type(value) is base


# ---------------------------------------------------------------- the compiled checker
# The model is compiled once into one small function per type; a value's path is kept as a
# chain of (parent, kind, key) tuples and spelled out only for the error message, so a valid
# file costs little more than json.loads.

class _Bad(Exception):
    def __init__(self, where, message: str):
        super().__init__(message)
        self.where, self.message = where, message


def path_text(where) -> str:
    steps = []
    while where is not None:
        where, kind, key = where
        steps.append((kind, key))
    out = ""
    for kind, key in reversed(steps):
        if kind == "index":
            out += f"[{key}]"
        elif kind == "field" and _IDENT.fullmatch(key):
            out += f".{key}" if out else key
        else:
            out += f"[{cut(repr(key), 60)}]"
    return out


def _check_text(value: str, where, what: str = "is") -> None:
    if len(value) > MAX_STRING:
        raise _Bad(where, f"{what} a string of {len(value)} characters; the limit is {MAX_STRING}")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise _Bad(where, f"{'holds' if what == 'is' else what} a lone UTF-16 surrogate ({shown(value)}), which is not text") from None


def _check_key(key, where) -> None:
    if type(key) is not str:
        raise _Bad(where, f"has a key that is not a string: {shown(key)}")
    _check_text(key, where, "has a key that is")


def _too_deep(where):
    return _Bad(where, f"is nested deeper than {MAX_DEPTH} levels")


def _any(value, where, depth: int) -> None:
    kind = type(value)
    if kind is str:
        _check_text(value, where)
    elif kind is dict:
        if depth >= MAX_DEPTH:
            raise _too_deep(where)
        for key, item in value.items():
            _check_key(key, where)
            _any(item, (where, "key", key), depth + 1)
    elif kind is list:
        if depth >= MAX_DEPTH:
            raise _too_deep(where)
        for index, item in enumerate(value):
            _any(item, (where, "index", index), depth + 1)
    elif kind is int:
        if abs(value) > MAX_INT:
            raise _Bad(where, f"is out of range (integers at most ±{MAX_INT})")
    elif kind is float:
        if not math.isfinite(value):
            raise _Bad(where, "is NaN or infinite, which JSON does not allow")
    elif value is None or kind is bool:
        return
    else:
        raise _Bad(where, f"is a {kind.__name__}, which is not JSON")


_COMPILED: dict = {}


def compiled(tp):
    """The checker function of a model type: check(value, where, depth), raising _Bad."""
    key = tp if is_typeddict(tp) else repr(tp)
    found = _COMPILED.get(key)
    if found is None:
        if is_typeddict(tp):
            fields: dict = {}
            _COMPILED[key] = found = _object_checker(tp, fields)
            fields.update({name: (compiled(field), nullable_field(field)) for name, field in fields_of(tp).items()})
        else:
            _COMPILED[key] = found = _build(tp)
    return found


def _wrong(where, tp, value):
    return _Bad(where, f"must be {describe_type(tp)}, got {shown(value)}")


def _object_checker(tp, fields: dict):
    def check(value, where, depth):
        if type(value) is not dict:
            raise _wrong(where, tp, value)
        if depth >= MAX_DEPTH:
            raise _too_deep(where)
        for key, item in value.items():
            here = (where, "field", key)
            entry = fields.get(key)
            if entry is None:
                _check_key(key, where)
                _any(item, here, depth + 1)
            elif item is None:
                if not entry[1]:
                    raise _Bad(here, f"must be {describe_type(fields_of(tp)[key])}, got null")
            else:
                entry[0](item, here, depth + 1)
    return check


def _build(tp):
    base, _docs, patterns = unwrap(tp)
    origin = get_origin(base)
    if base is Any:
        return _any
    if is_typeddict(base):
        return compiled(base)
    if origin is Union:
        return _union_checker(base)
    if origin is typing.Literal:
        allowed = frozenset(get_args(base))
        expected = describe_type(base)

        def literal(value, where, depth):
            if type(value) is str and value in allowed:
                return
            if type(value) is str:
                _check_text(value, where)
                raise _Bad(where, f"is {cut(repr(value), 60)}; expected {expected}")
            raise _wrong(where, base, value)
        return literal
    if origin is list:
        item_check = compiled(get_args(base)[0])

        def listing(value, where, depth):
            if type(value) is not list:
                raise _wrong(where, base, value)
            if depth >= MAX_DEPTH:
                raise _too_deep(where)
            for index, item in enumerate(value):
                item_check(item, (where, "index", index), depth + 1)
        return listing
    if origin is dict:
        item_check = compiled(get_args(base)[1])

        def mapping(value, where, depth):
            if type(value) is not dict:
                raise _wrong(where, base, value)
            if depth >= MAX_DEPTH:
                raise _too_deep(where)
            for key, item in value.items():
                _check_key(key, where)
                item_check(item, (where, "key", key), depth + 1)
        return mapping
    if base is str:
        regexes = [re.compile(p) for p in patterns]

        def text(value, where, depth):
            if type(value) is not str:
                raise _wrong(where, tp, value)
            _check_text(value, where)
            for regex in regexes:
                if not regex.fullmatch(value):
                    raise _Bad(where, f"is {shown(value)}; expected a string matching {regex.pattern}")
        return text
    if base is bool:
        def boolean(value, where, depth):
            if type(value) is not bool:
                raise _wrong(where, base, value)
        return boolean
    if base in (int, float):
        accepted = (int, float) if base is float else (int,)

        def number(value, where, depth):
            if type(value) not in accepted:
                raise _wrong(where, base, value)
            _any(value, where, depth)
        return number
    return _any


def _union_checker(base):
    options = [a for a in get_args(base) if a is not type(None)]
    allow_none = len(options) < len(get_args(base))
    checks = [(compiled(option), option) for option in options]

    def union(value, where, depth):
        if value is None and allow_none:
            return
        same = [check for check, option in checks if _same_kind(option, value)]
        if len(same) == 1:  # checked directly, so the message names the deepest path
            same[0](value, where, depth)
            return
        for check in same:
            try:
                check(value, where, depth)
                return
            except _Bad:
                continue
        raise _wrong(where, base, value)
    return union


def validate(value, tp, source: str, path: str = "") -> None:
    """Raise FactsError (a UsageError) at the first value that does not fit `tp` or the limits."""
    try:
        compiled(tp)(value, None, 0)
    except _Bad as bad:
        where = path_text(bad.where) or path
        shown_where = f"'{where}'" if _IDENT.fullmatch(where or "-") else (where or "the top level")
        raise FactsError(f"{source}: {shown_where} {bad.message}") from None
    except RecursionError:
        raise FactsError(f"{source}: nested deeper than {MAX_DEPTH} levels") from None


def check_unique_serials(data: dict, source: str) -> None:
    """Refuse facts that list one serial twice (exit 2, naming it). A board's serial is its
    identity everywhere downstream: the report's subject `device:<serial>`, its install plan, and
    every fix command (`adb -s SERIAL …`, which adb itself refuses with "more than one device"
    when two boards share it). Two boards under one serial cannot be told apart, so their checks
    would be merged into one section and their fixes sent to whichever board adb picks."""
    seen: dict = {}
    for index, device in enumerate(data.get("devices") or []):
        if not isinstance(device, dict) or not isinstance(device.get("serial"), str):
            continue
        key = (device.get("transport") or "adb", device["serial"])
        if key in seen:
            raise FactsError(f"{source}: 'devices[{index}].serial' {shown(device['serial'])} repeats devices[{seen[key]}].serial: "
                             "two boards cannot share a serial (reports and `adb -s` address a board by it); "
                             "give each board its own serial (`adb devices -l` shows them) or remove the duplicate")
        seen[key] = index
