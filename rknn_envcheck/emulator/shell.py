"""A small `sh -c` for the virtual board: what a probe sends, run against the profile's filesystem.

Supported: `;` `&&` `||` `|` `&`(as `;`), redirections `>` `>>` `<` `2>` `2>&1` `>&2` `&>`,
single/double quotes, backslash, `$?` `$VAR` `${VAR}`, `NAME=value` prefixes, globs (`*` `?` `[...]`).
Not supported (answered with a clear error, status 2): `$(...)`, backticks, if/for/while/case, subshells.
Reading the script (tokens, pipelines) is shell_syntax.py; this module runs what it read.

The shell is pure: it never sleeps. `sleep` records a delay event, so the ADB server can wait
with asyncio and the in-process board with time.sleep, and output keeps its order around it.
"""
from __future__ import annotations

import posixpath
from typing import Callable, Dict, List, Optional

from rknn_envcheck.emulator.limits import Budget, OutputCapExceeded
from rknn_envcheck.emulator.shell_syntax import Command, ShellSyntaxError, Word, parse
from rknn_envcheck.emulator.vfs import ANDROID_PATH, LINUX_PATH, StorageFull
from rknn_envcheck.records import dataclass

# Exit status of a command line stopped by the output cap: 128 + SIGXFSZ, what a shell reports
# for a process that passed its file size limit (RLIMIT_FSIZE).
STATUS_OUTPUT_CAP = 153
UNLIMITED = 1 << 62


class ExitShell(Exception):
    def __init__(self, status: int):
        self.status = status


class Target:
    budget: Budget

    def write(self, data: bytes) -> None:
        raise NotImplementedError


class NullTarget(Target):
    def write(self, data: bytes) -> None:
        pass


class EventTarget(Target):
    def __init__(self, events: list, stream: str, budget: Budget):
        self.events, self.stream, self.budget = events, stream, budget

    def write(self, data: bytes) -> None:
        if not data:
            return
        self.budget.spend(len(data))
        if self.events and self.events[-1][0] == self.stream:
            self.events[-1] = (self.stream, self.events[-1][1] + data)
        else:
            self.events.append((self.stream, data))


class BufferTarget(Target):
    def __init__(self, budget: Budget):
        self.buf, self.budget = bytearray(), budget

    def write(self, data: bytes) -> None:
        self.budget.spend(len(data))
        self.buf += data


class FileTarget(Target):
    def __init__(self, fs, path: str, append: bool, budget: Budget):
        self.fs, self.path, self.budget = fs, path, budget
        fs.write(path, b"", append=append)

    def write(self, data: bytes) -> None:
        self.budget.spend(len(data))
        self.fs.write(self.path, data, append=True)


class IO:
    """What a tool sees: its stdin bytes, and writers for fd 1 and fd 2."""

    def __init__(self, stdin: bytes, out: Target, err: Target, events: list):
        self.stdin, self._out, self._err, self._events = stdin, out, err, events

    def out(self, data) -> None:
        self._out.write(data.encode("latin-1") if isinstance(data, str) else data)

    def err(self, data) -> None:
        self._err.write(data.encode("latin-1") if isinstance(data, str) else data)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._events.append(("sleep", seconds))


@dataclass
class Execution:
    events: list
    status: int
    commands: int
    problem: Optional[str] = None   # an emulator limit or failure worth one log line (cap, tool error)
    capped: bool = False            # stopped by the output budget

    def stream(self, name: str) -> bytes:
        return b"".join(data for kind, data in self.events if kind == name)

    @property
    def stdout(self) -> bytes:
        return self.stream("out")

    @property
    def stderr(self) -> bytes:
        return self.stream("err")

    @property
    def delay(self) -> float:
        return sum(data for kind, data in self.events if kind == "sleep")


Tool = Callable[["Shell", List[str], IO], int]


class Shell:
    """One `sh -c` invocation context over a board (vfs + profile + tools)."""

    def __init__(self, board, tools: Dict[str, Tool], builtins: Dict[str, Tool], budget: Optional[Budget] = None):
        self.board = board
        self.budget = budget if budget is not None else Budget(UNLIMITED)
        self.problem: Optional[str] = None
        self.fs = board.fs
        self.profile = board.profile
        self.tools = tools
        self.builtins = builtins
        self.path = ANDROID_PATH if self.profile.os == "android" else LINUX_PATH
        self.vars: Dict[str, str] = {"PATH": ":".join(self.path), "HOME": "/root" if self.profile.user == "root" else "/",
                                     "USER": self.profile.user, "SHELL": "/bin/sh" if self.profile.os == "linux" else "/system/bin/sh"}
        self.cwd = "/"
        self.status = 0
        self.commands = 0

    # -- public
    def run(self, script: str, program: Optional[list] = None) -> Execution:
        events: list = []
        capped = False
        try:
            status = self.run_into(script, EventTarget(events, "out", self.budget), EventTarget(events, "err", self.budget),
                                   events, b"", program)
        except OutputCapExceeded:
            # the message bypasses the budget: it is what tells the client why the output stops here
            events.append(("err", f"sh: output cut at {self.budget.limit} bytes: the emulated board's limit "
                                  f"per command line (--shell-output-cap)\n".encode()))
            status, self.problem, capped = STATUS_OUTPUT_CAP, f"a command line passed the output cap of {self.budget.limit} bytes", True
        except RecursionError:
            events.append(("err", b"sh: nesting too deep\n"))
            status, self.problem = 2, "a command line nested too deep for the emulated shell"
        return Execution(events, status, self.commands, self.problem, capped)

    def run_into(self, script: str, out: Target, err: Target, events: list, stdin: bytes, program: Optional[list] = None) -> int:
        try:
            program = parse(script) if program is None else program
        except ShellSyntaxError as exc:
            err.write(f"sh: {exc}\n".encode())
            self.status = 2
            return 2
        try:
            for connector, pipeline in program:
                if connector == "&&" and self.status != 0:
                    continue
                if connector == "||" and self.status == 0:
                    continue
                self.status = self._pipeline(pipeline, out, err, events, stdin)
        except ExitShell as exc:
            self.status = exc.status
        return self.status

    # -- internals
    def _pipeline(self, pipeline: List[Command], out: Target, err: Target, events: list, stdin: bytes) -> int:
        data = stdin
        status = 0
        for index, cmd in enumerate(pipeline):
            last = index == len(pipeline) - 1
            target = out if last else BufferTarget(self.budget)
            status = self._command(cmd, data if index else stdin, target, err, events)
            if not last:
                data = bytes(target.buf)  # type: ignore[attr-defined]
        return status

    def expand(self, word: Word) -> List[str]:
        text, has_glob = "", False
        for kind, value, quoted in word.segments:
            if kind == "var":
                value = self._var(value)
            text += value
            if not quoted and kind == "lit" and any(ch in value for ch in "*?["):
                has_glob = True
        self.budget.spend(len(text))  # expansions use memory like output does: `A=$A$A` doubles
        if has_glob:
            matches = self.fs.glob(text, self.cwd)
            if matches:
                self.budget.spend(sum(map(len, matches)))
                return matches
        if all(kind == "var" and not quoted for kind, _, quoted in word.segments):
            return text.split()  # unquoted expansion: field splitting; empty -> no word
        return [text]

    def _var(self, name: str) -> str:
        if name == "?":
            return str(self.status)
        if name == "$":
            return "4242"
        if name in ("#", "@", "*", "!") or name.isdigit():
            return "0" if name == "#" else ""
        return self.vars.get(name, "")

    def _command(self, cmd: Command, stdin: bytes, out: Target, err: Target, events: list) -> int:
        self.commands += 1
        argv: List[str] = []
        for word in cmd.words:
            argv.extend(self.expand(word))
        assignments = {}
        while argv and "=" in argv[0] and argv[0].split("=", 1)[0].isidentifier():
            name, _, value = argv.pop(0).partition("=")
            assignments[name] = value
        fds: Dict[int, Target] = {1: out, 2: err}
        for r in cmd.redirs:
            if r.op == ">&":
                fds[r.fd] = fds.get(int(r.target), NullTarget())  # type: ignore[arg-type]
                continue
            words = self.expand(r.target)  # type: ignore[arg-type]
            if len(words) != 1:
                err.write(b"sh: ambiguous redirect\n")
                return 1
            path = words[0]
            if r.op == "<":
                node = self.fs.get(path, self.cwd)
                if node is None or node.kind != "file":
                    err.write(f"sh: can't open '{path}': No such file or directory\n".encode())
                    return 1
                stdin = node.content()
            elif path == "/dev/null":
                fds[r.fd] = NullTarget()
            else:
                parent = self.fs.get(posixpath.dirname(self.fs.norm(path, self.cwd)))
                if parent is None or parent.kind != "dir":
                    err.write(f"sh: can't create {path}: nonexistent directory\n".encode())
                    return 1
                try:
                    fds[r.fd] = FileTarget(self.fs, self.fs.norm(path, self.cwd), r.op == ">>", self.budget)
                except StorageFull as exc:
                    err.write(f"sh: can't create {path}: {exc}\n".encode())
                    return 1
        if not argv:
            self.vars.update(assignments)
            return 0
        io = IO(stdin, fds.get(1, NullTarget()), fds.get(2, NullTarget()), events)
        return self.exec_argv(argv, io)

    def resolve(self, name: str) -> Optional[str]:
        """Path of an executable on the board (PATH search), or None."""
        if "/" in name:
            node = self.fs.get(name, self.cwd)
            return self.fs.norm(name, self.cwd) if node is not None else None
        for d in self.path:
            node = self.fs.get(f"{d}/{name}")
            if node is not None and node.kind == "file" and node.mode & 0o111:
                return f"{d}/{name}"
        return None

    def exec_argv(self, argv: List[str], io: IO) -> int:
        name = argv[0]
        if name in self.builtins:
            return self._call(self.builtins[name], argv, io)
        path = self.resolve(name)
        if path is None:
            io.err(f"sh: {name}: not found\n")
            return 127
        node = self.fs.get(path)
        if node.kind == "dir" or not node.mode & 0o111:
            io.err(f"sh: {name}: Permission denied\n")
            return 126
        base = posixpath.basename(path)
        if base.startswith("python3") and self.profile.python_version and path == self.profile.python_executable:
            return self._call(self.tools["python3"], argv, io)
        if base in self.tools:
            return self._call(self.tools[base], argv, io)
        io.err(f"sh: {name}: the emulated board does not run this program (it only answers probes)\n")
        return 126

    def _call(self, tool: Tool, argv: List[str], io: IO) -> int:
        """A tool that fails on odd input answers like a program that printed an error, never a traceback."""
        try:
            return tool(self, argv, io)
        except (ExitShell, OutputCapExceeded, RecursionError):
            raise
        except StorageFull as exc:
            io.err(f"{argv[0]}: write error: {exc}\n")
            return 1
        except Exception as exc:  # noqa: BLE001 - any input a client sends must get an answer
            text = f"{type(exc).__name__}: {exc}"[:200]
            io.err(f"{argv[0]}: {text}\n")
            if self.problem is None:
                self.problem = f"`{argv[0]}` failed on its input ({text})"
            return 2
