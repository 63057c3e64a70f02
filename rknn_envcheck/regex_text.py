"""What a regular expression's text says about the strings it matches, read without compiling it.

Both users avoid `re.compile` on a hot or start-up path: explain's stage 2 tests a message's
required literals with `in` before its regex is compiled or run (explain/messages.py), and the
citation registry skips a document family whose pattern's literal start a key lacks
(citations.py). Deliberately simple and conservative: tests check the results against `re`.
"""
from __future__ import annotations

import re

META = set("\\.^$*+?{}[]|()")
_QUANTIFIERS = set("?*{")


def required_literal(pattern: str, minimum: int = 3) -> str | None:
    """The longest run of plain characters at the top level of `pattern` (outside groups and
    classes, not made optional by a quantifier), so every match contains it; None if there is
    a top-level `|`, an inline flag such as `(?i)`, or no run of `minimum` characters.

    Deliberately simple and conservative; tests check each result against re's own parse tree.
    """
    runs: list[str] = []
    run: list[str] = []
    depth = 0
    i, n = 0, len(pattern)

    def end_run():
        if run:
            runs.append("".join(run))
            run.clear()

    while i < n:
        c = pattern[i]
        nxt = pattern[i + 1] if i + 1 < n else ""
        if c == "\\":
            if not nxt:
                return None
            if nxt.isalnum():
                if nxt not in "sSdDwWbBAZ":
                    return None  # \x41, \u.., \N{..}, \1 ...: not worth decoding here
                end_run()
            elif depth == 0 and nxt not in "\n\r\t":
                after = pattern[i + 2] if i + 2 < n else ""
                if after in _QUANTIFIERS:
                    end_run()
                else:
                    run.append(nxt)
            else:
                end_run()
            i += 2
            continue
        if c == "[":
            end_run()
            i = _after_class(pattern, i)
            continue
        if c == "(":
            if nxt == "?" and i + 2 < n and pattern[i + 2].isalpha() and pattern[i + 2] != "P":
                return None  # inline flags ((?i), (?s:...)): literal matching would be unsound
            end_run()
            depth += 1
        elif c == ")":
            end_run()
            depth -= 1
        elif c == "|":
            if depth == 0:
                return None
        elif c in META:
            end_run()
        elif depth == 0:
            if nxt in _QUANTIFIERS:
                end_run()  # this character is optional
            else:
                run.append(c)
        i += 1
    end_run()
    best = max(runs, key=len, default="")
    return best if len(best) >= minimum else None


def _after_class(pattern: str, i: int) -> int:
    """The index just past the character class `[...]` that starts at pattern[i] (a leading `^`
    and a `]` right after it are members, escapes are skipped)."""
    n = len(pattern)
    j = i + 1
    if j < n and pattern[j] == "^":
        j += 1
    if j < n and pattern[j] == "]":
        j += 1
    while j < n and pattern[j] != "]":
        j += 2 if pattern[j] == "\\" else 1
    return j + 1


def top_level_branches(pattern: str) -> list[str]:
    """`pattern` split at its top-level `|` (outside groups and character classes, unescaped)."""
    branches, depth, start, i, n = [], 0, 0, 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            i = _after_class(pattern, i)
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            branches.append(pattern[start:i])
            start = i + 1
        i += 1
    branches.append(pattern[start:])
    return branches


def required_literals(pattern: str, minimum: int = 3) -> tuple | None:
    """One required literal per top-level alternative of `pattern` (see required_literal), so
    every match contains at least one of them; None when an alternative has none, or the
    pattern has an inline flag anywhere (it would apply to every alternative)."""
    if "(?" in pattern and re.search(r"\(\?[aiLmsux]", pattern):
        return None
    found = []
    for branch in top_level_branches(pattern):
        literal = required_literal(branch, minimum)
        if literal is None:
            return None
        found.append(literal)
    return tuple(dict.fromkeys(found))
