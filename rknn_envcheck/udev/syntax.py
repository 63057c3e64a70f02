"""udev rules file syntax: logical lines (with `\\` continuation) split into key/op/value triples.

Only what `rknn-envcheck udev` needs to read back: which keys a rule matches on and which it
assigns. Anything this parser cannot split is kept as an `error` so the caller can show the line
instead of silently ignoring it.
"""
from __future__ import annotations

import fnmatch
import re
from rknn_envcheck.records import dataclass, field

MATCH_OPS = ("==", "!=")
# One `KEY{attr}OP"value"` item; udev also accepts e"..." / r"..." string prefixes.
_ITEM = re.compile(
    r'\s*(?P<key>[A-Za-z_]+)(?:\{(?P<attr>[^}]*)\})?\s*(?P<op>==|!=|\+=|-=|:=|=)\s*[er]?"(?P<value>(?:[^"\\]|\\.)*)"\s*(?:,|$)'
)
# A vendor id 2207 standing alone, not part of a longer hex number (e.g. a serial).
VENDOR_2207 = re.compile(r"(?<![0-9A-Fa-f])2207(?![0-9A-Fa-f])")


@dataclass
class Item:
    key: str
    attr: str | None
    op: str
    value: str

    @property
    def is_match(self) -> bool:
        return self.op in MATCH_OPS

    @property
    def name(self) -> str:
        return f"{self.key}{{{self.attr}}}" if self.attr is not None else self.key


@dataclass
class Rule:
    lineno: int  # first physical line of the logical line
    text: str
    items: list[Item] = field(default_factory=list)
    error: str = ""

    def matches(self) -> list[Item]:
        return [i for i in self.items if i.is_match]

    def assigns(self) -> list[Item]:
        return [i for i in self.items if not i.is_match]

    def first(self, key: str, attr: str | None = None, assign: bool | None = None) -> Item | None:
        for item in self.items:
            if item.key == key and (attr is None or item.attr == attr):
                if assign is None or assign != item.is_match:
                    return item
        return None


def parse_items(text: str) -> tuple[list[Item], str]:
    items: list[Item] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _ITEM.match(text, pos)
        if not m:
            return items, f"cannot parse from column {pos + 1}: {text[pos:pos + 30]!r}"
        items.append(Item(m.group("key"), m.group("attr"), m.group("op"), m.group("value")))
        pos = m.end()
    return items, ""


def parse_rules(text: str) -> list[Rule]:
    """Every rule (non-comment, non-blank logical line) with its first line number."""
    rules: list[Rule] = []
    pending: list[str] = []
    start = 0
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if not pending:
            start = lineno
            if not line.strip() or line.lstrip().startswith("#"):
                continue
        if line.endswith("\\"):
            pending.append(line[:-1])
            continue
        pending.append(line)
        joined = " ".join(part.strip() for part in pending).strip()
        pending = []
        items, error = parse_items(joined)
        rules.append(Rule(start, joined, items, error))
    if pending:
        joined = " ".join(part.strip() for part in pending).strip()
        items, error = parse_items(joined)
        rules.append(Rule(start, joined, items, error or "file ends inside a continued line"))
    return rules


def pattern_matches(pattern: str, value: str) -> bool:
    """udev's glob match: shell patterns, with `|` separating alternatives."""
    return any(fnmatch.fnmatchcase(value, alt) for alt in pattern.split("|"))
