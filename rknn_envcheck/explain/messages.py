"""Load matrices/messages.toml (the known log messages) and check its shape.

The messages come through the matrix loader (`load_matrix`), which reads every matrices/*.toml
once and keeps the parsed set in its marshal cache (keyed by the files' sizes and mtimes): no
TOML is parsed on a normal run (~30 ms saved). The shape checks below (required keys, kinds,
declared needles) run on every load — they cost well under a millisecond. Compiling every
pattern (~20 ms) is done only with `--matrix DIR` and in the tests; a normal run compiles the
regexes of the messages whose needles occur in the log, on first use.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from rknn_envcheck.errors import UsageError

KINDS = ("error", "warning", "fact", "detail", "context")
REQUIRED = ("id", "kind", "needles", "pattern", "component", "meaning", "source", "examples", "near_misses")
FILE_NAME = "messages.toml"


@dataclass
class Message:
    id: str
    kind: str
    needles: list[str]
    pattern_text: str
    extract: dict
    component: str
    meaning: str
    source: str
    fix: str = ""
    commands: list[str] = field(default_factory=list)
    causes: list[dict] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)
    near_misses: list[str] = field(default_factory=list)
    _compiled: object = None
    _literal: object = False  # False = not derived yet

    @property
    def literal(self) -> str | None:
        """A literal every match contains (None: none found): checked with `in` before the regex
        is compiled or run — compiling ~80 patterns costs ~20 ms a run, the check microseconds."""
        if self._literal is False:
            self._literal = required_literal(self.pattern_text)
        return self._literal  # type: ignore[return-value]

    @property
    def pattern(self) -> re.Pattern:
        # Compiled on first use: most runs meet a handful of the messages.
        if self._compiled is None:
            self._compiled = re.compile(self.pattern_text, re.M)
        return self._compiled


_META = set("\\.^$*+?{}[]|()")
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
            j = i + 1
            if j < n and pattern[j] == "^":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            i = j + 1
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
        elif c in _META:
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


@dataclass
class MessageSet:
    version: str
    date: str
    path: str
    needles: list[str]
    context_lines: dict[str, int]
    codes: dict[str, str]
    messages: list[Message]

    def by_id(self, message_id: str) -> Message:
        for message in self.messages:
            if message.id == message_id:
                return message
        raise KeyError(message_id)


def default_paths(directory: str | None = None) -> list[Path]:
    """Where messages.toml is looked for when read directly, in matrix.load_matrix's order."""
    if directory:
        return [Path(directory) / FILE_NAME]
    here = Path(__file__).resolve().parent
    # data shipped inside the package first, then the source tree (matrices/ beside the package)
    return [here.parent / "matrices" / FILE_NAME, here.parent.parent / "matrices" / FILE_NAME]


def _toml():
    try:
        import tomllib  # type: ignore[import-not-found]
    except ModuleNotFoundError:  # Python < 3.11
        import tomli as tomllib  # type: ignore[no-redef]
    return tomllib


@lru_cache(maxsize=8)
def load_messages(directory: str | None = None) -> MessageSet:
    """The known messages of the matrix set in `directory` (None = the shipped set).

    A `--matrix DIR` without [[message]] rows falls back to the shipped messages.
    """
    from rknn_envcheck.matrix import load_matrix

    matrix = load_matrix(directory)
    rows = matrix.rows("message")
    if not rows:
        if directory:
            return load_messages(None)
        return read_messages_file(None)
    data = {"scan": matrix.extras.get("scan") or {}, "codes": matrix.extras.get("codes") or {},
            "messages": matrix.extras.get("messages") or {}, "message": rows}
    return parse_messages(data, str(Path(matrix.directory) / FILE_NAME), validate=directory is not None)


def read_messages_file(directory: str | None = None) -> MessageSet:
    """Parse messages.toml itself (no matrix set around it)."""
    candidates = default_paths(directory)
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        if directory:
            # --matrix DIR without a messages file: fall back to the shipped set
            return read_messages_file(None)
        raise UsageError(f"the known-messages file is missing (looked in {', '.join(map(str, candidates))})")
    try:
        data = _toml().loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"{path}: cannot be read as TOML ({exc})") from None
    return parse_messages(data, str(path), validate=directory is not None)


def parse_messages(data: dict, path: str = "<messages>", validate: bool = False) -> MessageSet:
    """validate=True also compiles every pattern (tests do; a run compiles only what it meets)."""
    scan = data.get("scan") or {}
    needles = list(scan.get("needles") or [])
    messages = []
    for index, entry in enumerate(data.get("message") or []):
        missing = [k for k in REQUIRED if k not in entry]
        where = f"{path}: message #{index + 1} ({entry.get('id', 'no id')})"
        if missing:
            raise UsageError(f"{where} lacks {', '.join(missing)}")
        if entry["kind"] not in KINDS:
            raise UsageError(f"{where}: kind {entry['kind']!r} is not one of {KINDS}")
        for needle in entry["needles"]:
            if not needle.startswith("after:") and needle not in needles:
                raise UsageError(f"{where}: needle {needle!r} is not in [scan] needles")
        if validate:
            try:
                re.compile(entry["pattern"], re.M)
            except re.error as exc:
                raise UsageError(f"{where}: pattern does not compile ({exc})") from None
        messages.append(Message(
            id=entry["id"], kind=entry["kind"], needles=list(entry["needles"]), pattern_text=entry["pattern"],
            extract=dict(entry.get("extract") or {}), component=entry["component"], meaning=entry["meaning"],
            source=entry["source"], fix=entry.get("fix", ""), commands=list(entry.get("commands") or []),
            causes=list(entry.get("causes") or []), examples=list(entry["examples"]), near_misses=list(entry["near_misses"]),
        ))
    meta = data.get("messages") or {}
    return MessageSet(version=str(meta.get("version", "")), date=str(meta.get("date", "")), path=path, needles=needles,
                      context_lines=dict(scan.get("context_lines") or {}), codes=dict(data.get("codes") or {}), messages=messages)
