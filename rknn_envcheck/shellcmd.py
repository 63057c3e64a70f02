"""Fix commands as argument lists, quoted for the shell that will run them.

Values in a fix (a board's serial, a venv path, a dist-info folder name, a chip name) come from
outside: a board, a facts file, a log, a file name. A command is therefore never a string built
by interpolation: it is an argv, and the display string is made from it by quoting every
argument for the shell that will run it (POSIX `sh` on Linux/macOS and on the boards, PowerShell
on Windows). A command to run *on a board* through `adb shell` is an argv too: it is quoted once
for the board's shell and the result is one argument of the local `adb` argv, so it is quoted
again for the local shell (see `adb_shell`).

`Command` is a `str` whose value is the POSIX display string, so code and tests that treat a fix
command as text keep working; renderers ask `display(shell)` for the host's shell, and JSON keeps
the argv beside the display string.

A value that cannot be shown safely in a command line (control characters, newlines) makes the
command `unsafe`: renderers then withhold it and say why, showing the value escaped.
"""
from __future__ import annotations

import re
from typing import Iterable, Sequence

# Shells a command can be meant for. "host" is the user's PC: resolved at render time from the
# facts (host.os == "windows" -> PowerShell, else POSIX), so a replayed facts file prints the
# user's shell, not ours.
POSIX = "posix"
POWERSHELL = "powershell"
HOST = "host"
PYTHON = "python"  # a Python statement (built with repr by its caller), shown as it is
SHELLS = (POSIX, POWERSHELL, HOST, PYTHON)

_POSIX_SAFE = re.compile(r"[A-Za-z0-9_@%+=:,./-]+")
_POWERSHELL_SAFE = re.compile(r"[A-Za-z0-9_+=:./\\-]+")
_POWERSHELL_FLAG = re.compile(r"-[A-Za-z][A-Za-z0-9-]*")
# `--depth`, `--toolkit`, `--mode=group`: a long option is one literal argument to a native program.
# Not `--` alone (the end-of-parameters token) nor `--%` (stop-parsing: the rest of the line would
# go to the program unparsed); no `.` or `:` in a value (PowerShell splits `-a.b` / `-a:b` for
# native commands in some versions), no `$`, `@`, quotes, braces, commas or spaces.
_POWERSHELL_LONG_FLAG = re.compile(r"--[A-Za-z0-9][A-Za-z0-9-]*(?:=[A-Za-z0-9_+/\\-]+)?")
# C0 controls, DEL, C1 controls, and the Unicode format characters that reorder or hide text
# (BiDi overrides and isolates, zero-width marks): none of them can be shown safely in a line
# the user will copy into a terminal.
UNSAFE_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def posix_quote(arg: str) -> str:
    """`shlex.quote`, except that a leading `~/` stays a home-relative path (the rest is quoted)."""
    if arg == "":
        return "''"
    if arg.startswith("~/") and len(arg) > 2:
        return "~/" + posix_quote(arg[2:])
    if _POSIX_SAFE.fullmatch(arg):
        return arg
    return "'" + arg.replace("'", "'\"'\"'") + "'"


def posix_join(argv: Iterable[str]) -> str:
    return " ".join(posix_quote(a) for a in argv)


def powershell_quote(arg: str) -> str:
    """PowerShell single-quoted string: nothing inside is expanded; a quote is doubled.

    PowerShell also treats the typographic quotes U+2018/U+2019/U+201A/U+201B as quotes, so
    they are doubled as well."""
    if arg == "":
        return "''"
    if arg.startswith("~/") and len(arg) > 2:
        return "~/" + powershell_quote(arg[2:])
    if _POWERSHELL_FLAG.fullmatch(arg) or _POWERSHELL_LONG_FLAG.fullmatch(arg) or \
            (_POWERSHELL_SAFE.fullmatch(arg) and not arg.startswith("-")):
        return arg
    return "'" + re.sub("(['\u2018\u2019\u201a\u201b])", r"\1\1", arg) + "'"


def powershell_join(argv: Sequence[str]) -> str:
    if not argv:
        return ""
    first = powershell_quote(argv[0])
    # A quoted program name is a string to PowerShell, not a command: the call operator runs it.
    head = f"& {first}" if first.startswith("'") else first
    return " ".join([head] + [powershell_quote(a) for a in argv[1:]])


def escape_unsafe(text: str) -> str:
    """Show control and reordering characters as escapes (`\\x1b`, `\\u202e`)."""

    def repl(match: re.Match) -> str:
        code = ord(match.group(0))
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return UNSAFE_CHARS.sub(repl, text)


class Command(str):
    """One command of a fix: an argv for a shell. Its str value is the POSIX display string."""

    argv: tuple
    shell: str
    note: str

    def __new__(cls, argv: Sequence[str], shell: str = HOST, note: str = "") -> "Command":
        if isinstance(argv, str):
            raise TypeError("Command takes an argument list, not a string: build it from its arguments")
        argv = tuple(str(a) for a in argv)
        if not argv:
            raise ValueError("a command needs at least one argument")
        if shell not in SHELLS:
            raise ValueError(f"unknown shell {shell!r}; one of {SHELLS}")
        text = argv[0] if shell == PYTHON else posix_join(argv)
        self = super().__new__(cls, text)
        self.argv = argv
        self.shell = shell
        self.note = note
        return self

    def __reduce__(self):  # copy/deepcopy/pickle keep the argv, not only the display string
        return (Command, (self.argv, self.shell, self.note))

    @property
    def unsafe(self) -> str:
        """Why this command cannot be shown to be copied, or "" when it can."""
        for arg in self.argv:
            if UNSAFE_CHARS.search(arg):
                return f"an argument holds control or reordering characters: {escape_unsafe(arg)[:200]}"
        return ""

    def display(self, host_shell: str = POSIX) -> str:
        """The line to print for the user's shell (`host_shell`: posix or powershell)."""
        if self.shell == PYTHON:
            return self.argv[0]
        shell = host_shell if self.shell == HOST else self.shell
        return powershell_join(self.argv) if shell == POWERSHELL else posix_join(self.argv)

    def to_dict(self, host_shell: str = POSIX) -> dict:
        shell = host_shell if self.shell == HOST else self.shell
        data = {"argv": list(self.argv), "shell": shell, "display": self.display(host_shell)}
        if self.note:
            data["note"] = self.note
        if self.unsafe:
            data["unsafe"] = self.unsafe
        return data


def cmd(*argv: str, shell: str = HOST, note: str = "") -> Command:
    """`cmd("pip", "install", spec)`: a command for the user's PC."""
    return Command(argv, shell=shell, note=note)


def path_arg(path: str) -> str:
    """A file name as an argument: `./-rf.tflite` for a relative name beginning with `-`, which a
    getopt/argparse program (ours, pip, tf2onnx) would read as an option, as an operand or as
    the value of `--tflite` alike; every other path unchanged."""
    return "./" + path if path.startswith("-") else path


def board_cmd(*argv: str, note: str = "") -> Command:
    """A command run in a shell on the board itself (always POSIX `sh`)."""
    return Command(argv, shell=POSIX, note=note)


def board_script(text: str) -> str:
    """A fixed board-side shell snippet written by us (e.g. a pipeline) — never holding an
    outside value. Callers pass it as the single argument of `sh -c`."""
    return text


def sh_format(template: str, *values: str) -> str:
    """A board-side shell snippet written by us, with outside values put in quoted: each `{}` of
    `template` becomes `posix_quote(value)`, so a value is always one word of the snippet."""
    return template.format(*(posix_quote(str(v)) for v in values))


def adb_shell_script(serial: str | None, script: str, note: str = "") -> Command:
    """`adb [-s SERIAL] shell 'SCRIPT'`: a board-side snippet (a pipeline, `a || b`) built by us
    with `board_script`/`sh_format`, passed as the one argument the board's shell parses."""
    return Command([*adb_prefix(serial), "shell", board_script(script)], shell=HOST, note=note)


def adb_shell(serial: str | None, board_argv: Sequence[str], note: str = "") -> Command:
    """`adb [-s SERIAL] shell 'QUOTED BOARD COMMAND'`: the board argv quoted for the board's
    shell, the result one argument of the local adb argv (quoted again when displayed)."""
    return Command([*adb_prefix(serial), "shell", posix_join(board_argv)], shell=HOST, note=note)


def adb_prefix(serial: str | None) -> list[str]:
    return ["adb", "-s", serial] if serial else ["adb"]


def host_shell_of(facts: dict | None) -> str:
    """The shell of the PC the facts describe."""
    host = (facts or {}).get("host") or {}
    return POWERSHELL if host.get("os") == "windows" else POSIX


_SHELL_OPERATORS = {"|", "||", "&&", ";", ">", ">>", "<", "&"}


def from_data(item) -> Command:
    """A fix command written in a data file (messages*.toml, pitfalls.toml): an argv array
    (`["adb", "push", "librknnrt.so", "/usr/lib/"]`), or a table `{argv = [...], note = "...",
    shell = "python"}`. A plain string (older data) is split the way `sh` would split it; one
    holding a shell operator (a pipe, `&&`) runs through `sh -c` as a whole — data files are ours,
    never outside values."""
    import shlex

    if isinstance(item, Command):
        return item
    if isinstance(item, (list, tuple)):
        return Command([str(a) for a in item])
    if isinstance(item, dict):
        return Command([str(a) for a in item.get("argv") or []], shell=item.get("shell", HOST), note=str(item.get("note", "")))
    text = str(item).strip()
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:  # unbalanced quotes: show it as one snippet rather than guess
        return Command(["sh", "-c", text])
    if any(t in _SHELL_OPERATORS for t in tokens):
        return Command(["sh", "-c", text])
    return Command(shlex.split(text))


# ------------------------------------------------------------------ the tool itself

DEFAULT_TOOL = ("rknn-envcheck",)


def tool_argv(facts: dict | None, sudo: bool = False) -> list[str]:
    """How to run rknn-envcheck on the PC the facts describe (gathered before the rules; facts
    files without it get the plain name)."""
    tool = (facts or {}).get("tool") or {}
    argv = tool.get("sudo_argv" if sudo else "argv") or tool.get("argv") or list(DEFAULT_TOOL)
    return [str(a) for a in argv] if isinstance(argv, list) and argv else list(DEFAULT_TOOL)


def udev_commands(facts: dict | None, root: str = "/", group: str | None = None) -> list[Command]:
    """Read what `udev --install` will do, then do it — for the same --root (and a --group other
    than the default plugdev) the status was read for."""
    extra = [] if str(root) in ("/", "") else ["--root", str(root)]
    if group and group != "plugdev":
        extra = ["--group", group, *extra]
    return [cmd(*tool_argv(facts), "udev", "--install", "--dry-run", *extra),
            cmd("sudo", *tool_argv(facts, sudo=True), "udev", "--install", *extra)]


def tool_cmd(facts: dict | None, *argv: str, note: str = "") -> Command:
    return cmd(*tool_argv(facts), *argv, note=note)
