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
from functools import lru_cache
from pathlib import Path

from rknn_envcheck.errors import UsageError
from rknn_envcheck.records import dataclass, field
from rknn_envcheck.regex_text import required_literal, required_literals

KINDS = ("error", "warning", "fact", "detail", "context")
REQUIRED = ("id", "kind", "needles", "pattern", "component", "meaning", "source", "examples", "near_misses")
FILE_NAME = "messages.toml"
# further [[message]] rows, one file per family (install, platform, runtime, ...); the matrix
# loader reads every matrices/*.toml, so they arrive with the rest of the set
EXTRA_GLOB = "messages_*.toml"


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
    # the data's commands (argv arrays) and causes, made into shellcmd.Commands on first use: a run
    # meets a handful of the ~300 messages, and converting them all cost ~10 ms of start-up
    commands_data: list = field(default_factory=list)
    causes_data: list = field(default_factory=list)
    examples: list[str] = field(default_factory=list)
    near_misses: list[str] = field(default_factory=list)
    _compiled: object = None
    _literal: object = False  # False = not derived yet
    _literals: object = False
    _commands: object = None
    _causes: object = None

    @property
    def commands(self) -> list:
        if self._commands is None:
            self._commands = [_command(c) for c in self.commands_data]
        return self._commands  # type: ignore[return-value]

    @property
    def causes(self) -> list[dict]:
        if self._causes is None:
            self._causes = _causes(self.causes_data)
        return self._causes  # type: ignore[return-value]

    @property
    def literal(self) -> str | None:
        """A literal every match contains (None: none found): checked with `in` before the regex
        is compiled or run — compiling ~80 patterns costs ~20 ms a run, the check microseconds."""
        if self._literal is False:
            self._literal = required_literal(self.pattern_text)
        return self._literal  # type: ignore[return-value]

    @property
    def literals(self) -> tuple | None:
        """Literals of which every match contains at least one: the one `literal`, or for a
        pattern `A|B|C` one literal per top-level alternative (None: some alternative has none).
        ~30 entries are alternations; without this each was compiled (~0.5 ms) and searched on
        every `E `/`W ` line of a toolkit log although its text was not there."""
        if self._literals is False:
            literal = self.literal
            self._literals = (literal,) if literal is not None else required_literals(self.pattern_text)
        return self._literals  # type: ignore[return-value]

    @property
    def pattern(self) -> re.Pattern:
        # Compiled on first use: most runs meet a handful of the messages.
        if self._compiled is None:
            self._compiled = re.compile(self.pattern_text, re.M)
        return self._compiled


@dataclass
class MessageSet:
    version: str
    date: str
    path: str
    needles: list[str]
    context_lines: dict[str, int]
    codes: dict[str, str]
    messages: list[Message]
    # what grep searches for instead of the needles (each needle contains one of them); [] = the needles
    grep_gate: list[str] = field(default_factory=list)

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
    found = parse_messages(data, str(Path(matrix.directory) / FILE_NAME), validate=directory is not None)
    _cached_literals(found.messages)
    return found


_LITERALS_FORMAT = "message-literals-1"  # bump when required_literal(s) change what they return


def _cached_literals(messages: list) -> None:
    """Each message's required literals from the matrix cache (same trust rules, its own digest
    over every pattern), else derived now and written there. Deriving them all is a character
    walk over ~300 patterns, ~10-14 ms of every explain run that scans a log with many kinds of
    line (the literal index of stage 2 needs most of them); reading them back ~0.3 ms."""
    from rknn_envcheck import matrix_cache

    key = matrix_cache.content_key([_LITERALS_FORMAT.encode()] + [b"\0" + m.pattern_text.encode("utf-8", "surrogatepass") for m in messages])
    directory = matrix_cache.cache_dir()
    cached = matrix_cache.read_cache(directory, key)
    if _literals_shape(cached, len(messages)):
        for message, (literal, literals) in zip(messages, cached):
            message._literal, message._literals = literal, literals
        return
    matrix_cache.write_cache(directory, key, [(m.literal, m.literals) for m in messages])


def _literals_shape(cached, count: int) -> bool:
    """A cached list of (literal or None, tuple of literals or None), one per message."""
    if not isinstance(cached, list) or len(cached) != count:
        return False
    for item in cached:
        if not (isinstance(item, tuple) and len(item) == 2):
            return False
        literal, literals = item
        if not (literal is None or isinstance(literal, str)):
            return False
        if not (literals is None or (isinstance(literals, tuple) and all(isinstance(x, str) and x for x in literals))):
            return False
    return True


def read_messages_file(directory: str | None = None) -> MessageSet:
    """Parse messages.toml itself (no matrix set around it)."""
    candidates = default_paths(directory)
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        if directory:
            # --matrix DIR without a messages file: fall back to the shipped set
            return read_messages_file(None)
        raise UsageError(f"the known-messages file is missing (looked in {', '.join(map(str, candidates))})")
    data = _read_toml(path)
    # more [[message]] rows live beside it in messages_*.toml (one file per family); their
    # rows are appended, the [scan]/[codes] tables stay those of messages.toml
    for extra in sorted(path.parent.glob(EXTRA_GLOB)):
        data.setdefault("message", []).extend(_read_toml(extra).get("message") or [])
    return parse_messages(data, str(path), validate=directory is not None)


def _read_toml(path: Path) -> dict:
    from rknn_envcheck.tomlfile import read_toml

    return read_toml(path, "known-messages file")


def parse_messages(data: dict, path: str = "<messages>", validate: bool = False) -> MessageSet:
    """validate=True also compiles every pattern (tests do; a run compiles only what it meets)."""
    scan = data.get("scan") or {}
    needles = list(scan.get("needles") or [])
    messages = []
    seen: set[str] = set()
    declared = set(needles)
    # ~300 rows are checked on every run: the error text is built only when a check fails
    for index, entry in enumerate(data.get("message") or []):
        def where() -> str:
            return f"{path}: message #{index + 1} ({entry.get('id', 'no id')})"

        missing = [k for k in REQUIRED if k not in entry]
        if missing:
            raise UsageError(f"{where()} lacks {', '.join(missing)}")
        if entry["id"] in seen:
            raise UsageError(f"{where()}: id {entry['id']!r} is used twice (ids are unique across messages*.toml)")
        seen.add(entry["id"])
        if entry["kind"] not in KINDS:
            raise UsageError(f"{where()}: kind {entry['kind']!r} is not one of {KINDS}")
        for needle in entry["needles"]:
            if needle not in declared and not needle.startswith("after:"):
                raise UsageError(f"{where()}: needle {needle!r} is not in [scan] needles")
        if validate:
            try:
                re.compile(entry["pattern"], re.M)
            except re.error as exc:
                raise UsageError(f"{where()}: pattern does not compile ({exc})") from None
        messages.append(Message(
            id=entry["id"], kind=entry["kind"], needles=list(entry["needles"]), pattern_text=entry["pattern"],
            extract=dict(entry.get("extract") or {}), component=entry["component"], meaning=entry["meaning"],
            source=entry["source"], fix=entry.get("fix", ""), commands_data=list(entry.get("commands") or []),
            causes_data=list(entry.get("causes") or []), examples=list(entry["examples"]), near_misses=list(entry["near_misses"]),
        ))
    gate = list(scan.get("grep_gate") or [])
    # The shipped set's coverage is a test (test_every_needle_holds_a_gate_literal...): checked here
    # only for a --matrix DIR (validate), as the patterns are — ~3 ms of every run otherwise.
    if gate and validate:
        for needle in needles:
            if not any(gate_covers(token, needle) for token in gate):
                raise UsageError(f"{path}: [scan] needle {needle!r} contains none of grep_gate's literals (grep would miss its lines)")
    meta = data.get("messages") or {}
    return MessageSet(version=str(meta.get("version", "")), date=str(meta.get("date", "")), path=path, needles=needles,
                      context_lines=dict(scan.get("context_lines") or {}), codes=dict(data.get("codes") or {}), messages=messages,
                      grep_gate=gate)


def gate_covers(token: str, needle: str) -> bool:
    """True when every line holding `needle` is among grep's lines for the gate literal `token`:
    `^X` (X at a line start) covers `^Y` needles where Y starts with X; a plain token covers any
    needle whose literal contains it."""
    literal = needle[1:] if needle.startswith("^") else needle
    if token.startswith("^"):
        return needle.startswith("^") and literal.startswith(token[1:])
    return token in literal


def _command(item):
    """A fix command of the data — an argv array, or a table {argv, note, shell} — as a
    shellcmd.Command (a str whose value is its POSIX display string). Older string commands are
    split as `sh` would (see shellcmd.from_data); the shipped files use argv arrays (a test says so)."""
    from rknn_envcheck.shellcmd import from_data

    try:
        return from_data(item)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"messages: a command must be an argv array like [\"adb\", \"push\", \"librknnrt.so\", \"/usr/lib/\"], got {item!r:.80} ({exc})") from None


def _causes(causes) -> list[dict]:
    """A cause's `check` is a command like the entry's commands (argv array or table)."""
    return [dict(c, check=_command(c["check"])) if isinstance(c, dict) and c.get("check") else c for c in causes or []]
