"""PEP 508 requirement lines and environment markers, read without packaging's parser.

`packaging.requirements` costs 12-30 ms to import (its tokenizer compiles a dozen regexes), as
much as the whole Requires-Dist walk; torch alone has a dozen marker lines, so every host with a
toolkit would pay it (measured in docs/decisions.md). Requires-Dist lines are machine-written and
simple, so they are read here with one small tokenizer and judged with the same comparison rules
as packaging.markers (a version comparison when the right side is a version, else string == / !=;
`in` / `not in` on strings; `extra` compared as a normalised name). Anything this reader does not
understand is handed to packaging's parser by the caller, so the fallback is the reference.
"""
from __future__ import annotations

import re

_TOKEN = re.compile(r"""\s*(?:(?P<str>'[^']*'|"[^"]*")|(?P<op>===|==|!=|<=|>=|~=|<|>)|(?P<paren>[()])|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))""")
_NAME_PART = re.compile(r"^\s*(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[(?P<extras>[^\]]*)\])?\s*(?P<rest>.*?)\s*$")
_EXTRA_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")
VARIABLES = {"python_version", "python_full_version", "os_name", "sys_platform", "platform_release", "platform_system",
             "platform_version", "platform_machine", "platform_python_implementation", "implementation_name",
             "implementation_version", "extra"}
# Old spellings packaging still accepts.
ALIASES = {"os.name": "os_name", "sys.platform": "sys_platform", "platform.version": "platform_version",
           "platform.machine": "platform_machine", "platform.python_implementation": "platform_python_implementation",
           "python_implementation": "platform_python_implementation"}


class Unsupported(ValueError):
    """The line or marker needs packaging's full parser."""


def normalize_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def split_line(line: str) -> tuple[str, frozenset, str, str | None]:
    """`name[extras] spec ; marker` → (name, extras, specifier text, marker text or None)."""
    requirement, sep, marker = line.partition(";")
    if "@" in requirement:
        raise Unsupported("a URL requirement")
    match = _NAME_PART.match(requirement)
    if not match:
        raise Unsupported("no distribution name")
    rest = match.group("rest")
    if rest.startswith("(") and rest.endswith(")"):
        rest = rest[1:-1].strip()  # the old `name (>=1.0)` spelling of Metadata 1.2
    extras = frozenset(normalize_name(e.strip()) for e in (match.group("extras") or "").split(",") if e.strip())
    if any(not _EXTRA_NAME.match(e) for e in extras):
        raise Unsupported("odd extras")
    return match.group("name"), extras, rest, (marker.strip() or None) if sep else None


def _tokens(text: str) -> list:
    out, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            if text[pos:].strip():
                raise Unsupported(f"cannot read marker at {text[pos:pos + 20]!r}")
            break
        pos = match.end()
        kind = match.lastgroup
        out.append((kind, match.group(kind)))
    return out


class Marker:
    """A parsed marker: `evaluate(environment)` as packaging's Marker.evaluate."""

    def __init__(self, text: str):
        self.text = text
        self._tokens = _tokens(text)
        self._pos = 0
        self.tree = self._or()
        if self._pos != len(self._tokens):
            raise Unsupported(f"trailing text in marker {text!r}")

    def _peek(self):
        return self._tokens[self._pos] if self._pos < len(self._tokens) else (None, None)

    def _take(self):
        token = self._peek()
        self._pos += 1
        return token

    def _or(self):
        node = self._and()
        while self._peek() == ("word", "or"):
            self._take()
            node = ("or", node, self._and())
        return node

    def _and(self):
        node = self._atom()
        while self._peek() == ("word", "and"):
            self._take()
            node = ("and", node, self._atom())
        return node

    def _value(self):
        kind, value = self._take()
        if kind == "str":
            return ("str", value[1:-1])
        if kind == "word" and (value in VARIABLES or value in ALIASES):
            return ("var", ALIASES.get(value, value))
        raise Unsupported(f"unexpected {value!r} in marker {self.text!r}")

    def _atom(self):
        if self._peek() == ("paren", "("):
            self._take()
            node = self._or()
            if self._take() != ("paren", ")"):
                raise Unsupported(f"unbalanced parentheses in {self.text!r}")
            return node
        left = self._value()
        kind, value = self._take()
        if kind == "op":
            op = value
        elif (kind, value) == ("word", "in"):
            op = "in"
        elif (kind, value) == ("word", "not") and self._take() == ("word", "in"):
            op = "not in"
        else:
            raise Unsupported(f"expected an operator in {self.text!r}")
        return ("cmp", left, op, self._value())

    def evaluate(self, environment: dict) -> bool:
        return self._eval(self.tree, environment)

    def decide(self, environment: dict) -> bool | None:
        """Like evaluate, but None where a variable is missing from `environment` and the answer
        depends on it (`python_version < "3.13" and extra == "x"` is False without python_version)."""
        return self._decide(self.tree, environment)

    def _decide(self, node, env) -> bool | None:
        if node[0] in ("and", "or"):
            left, right = self._decide(node[1], env), self._decide(node[2], env)
            if node[0] == "and":
                return False if False in (left, right) else None if None in (left, right) else True
            return True if True in (left, right) else None if None in (left, right) else False
        if any(side[0] == "var" and side[1] not in env for side in (node[1], node[3])):
            return None
        return self._eval(node, env)

    def _eval(self, node, env) -> bool:
        if node[0] == "or":
            return self._eval(node[1], env) or self._eval(node[2], env)
        if node[0] == "and":
            return self._eval(node[1], env) and self._eval(node[2], env)
        _cmp, left, op, right = node
        key = left[1] if left[0] == "var" else right[1] if right[0] == "var" else None
        lhs = env[left[1]] if left[0] == "var" else left[1]
        rhs = env[right[1]] if right[0] == "var" else right[1]
        if key == "extra":
            lhs, rhs = (normalize_name(lhs) if lhs else ""), normalize_name(rhs) if rhs else ""
        elif key == "python_full_version" and env[key].endswith("+"):
            lhs, rhs = (lhs + "local", rhs) if left[0] == "var" else (lhs, rhs + "local")  # as packaging repairs it
        return compare(lhs, op, rhs, key)


# The markers packaging compares as versions; every other one is compared as a string.
VERSION_MARKERS = {"python_version", "python_full_version", "implementation_version", "platform_release"}
# packaging.markers' string operators: `<`/`>` never hold on strings, `<=`/`>=` mean equal.
_STRING_OPS = {"in": lambda a, b: a in b, "not in": lambda a, b: a not in b, "<": lambda a, b: False, ">": lambda a, b: False,
               "<=": lambda a, b: a == b, ">=": lambda a, b: a == b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b}


def compare(lhs: str, op: str, rhs: str, key: str | None = None) -> bool:
    """packaging.markers._eval_op: a version comparison for the version markers when `op rhs` is
    a valid specifier, else the string operators."""
    if key in VERSION_MARKERS:
        from packaging.specifiers import InvalidSpecifier, Specifier

        try:
            spec = Specifier(op + rhs)
        except InvalidSpecifier:
            pass
        else:
            return spec.contains(lhs, prereleases=True)
    if op not in _STRING_OPS:
        raise Unsupported(f"{op} cannot compare {lhs!r} with {rhs!r}")
    return _STRING_OPS[op](lhs, rhs)
