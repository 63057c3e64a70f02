"""The commands the emulated shell runs (busybox/toybox look-alikes), over the virtual board.

Each tool is `tool(sh, argv, io) -> status`. Messages copy busybox wording (Linux boards);
they are what a probe has to cope with, so they are kept short and real-looking.
"""
from __future__ import annotations

import posixpath
import re
import stat
import time
from typing import Dict, List

from rknn_envcheck.emulator.limits import OutputCapExceeded
from rknn_envcheck.emulator.shell import IO, ExitShell, Shell, Tool
from rknn_envcheck.emulator.vfs import uname_all

TOOLS: Dict[str, Tool] = {}
BUILTINS: Dict[str, Tool] = {}


def tool(*names, builtin=False):
    def register(fn):
        for name in names:
            (BUILTINS if builtin else TOOLS)[name] = fn
        return fn
    return register


def _read(sh: Shell, path: str, io: IO, prog: str):
    """File bytes, or None after printing the busybox-style error."""
    node = sh.fs.get(path, sh.cwd)
    if node is None:
        io.err(f"{prog}: {path}: No such file or directory\n")
        return None
    if node.kind == "dir":
        io.err(f"{prog}: read error: Is a directory\n")
        return None
    return node.content()


def _lines(data: bytes) -> List[str]:
    text = data.decode("latin-1")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


# ------------------------------------------------------------ shell builtins

@tool("echo", builtin=True)
def echo(sh, argv, io):
    args, newline, escapes = argv[1:], True, False
    while args and re.fullmatch(r"-[neE]+", args[0]):
        newline = newline and "n" not in args[0]
        escapes = "e" in args[0]
        args = args[1:]
    text = " ".join(args)
    if escapes:
        text = text.encode("latin-1").decode("unicode_escape")
    io.out(text + ("\n" if newline else ""))
    return 0


_PRINTF_SPEC = re.compile(r"%[-0-9.]*[sdibx%]")
_PRINTF_SIZES = re.compile(r"%[-0]*([0-9]*)(?:\.([0-9]*))?")


def _bounded_spec(sh, spec: str) -> str:
    """The width and precision of a printf spec, refused before formatting when they alone pass the
    command line's output budget: `printf '%01000000000d' 1` must not build a 1 GB string first."""
    width, precision = _PRINTF_SIZES.match(spec).groups()
    for digits in (width, precision):
        if digits and (len(digits) > 12 or int(digits) > sh.budget.remaining):
            raise OutputCapExceeded(sh.budget.limit)
    return spec


@tool("printf", builtin=True)
def printf(sh, argv, io):
    if len(argv) < 2:
        io.err("printf: usage: printf FORMAT [ARGUMENT...]\n")
        return 1
    fmt, args = argv[1], argv[2:]
    fmt = fmt.replace("\\n", "\n").replace("\\t", "\t").replace("\\0", "\0").replace("\\\\", "\\")
    out, first = "", True
    while first or args:
        first = False
        def sub(m):
            spec = _bounded_spec(sh, m.group(0))
            if spec == "%%":
                return "%"
            value = args.pop(0) if args else ""
            if spec[-1] in "di":
                try:
                    return spec % int(value or 0)
                except ValueError:
                    return "0"
            if spec[-1] == "b":
                return value.encode("latin-1").decode("unicode_escape")
            if spec[-1] == "x":
                return spec % int(value or 0, 0)
            return spec % value
        consumed_before = len(args)
        out += _PRINTF_SPEC.sub(sub, fmt)
        if len(out) > sh.budget.remaining:  # many specs, each within the budget, add up past it
            raise OutputCapExceeded(sh.budget.limit)
        if len(args) == consumed_before:
            break
    io.out(out)
    return 0


@tool("true", ":", builtin=True)
def true(sh, argv, io):
    return 0


@tool("false", builtin=True)
def false(sh, argv, io):
    return 1


@tool("exit", builtin=True)
def exit_(sh, argv, io):
    raise ExitShell(int(argv[1]) & 0xFF if len(argv) > 1 and argv[1].lstrip("-").isdigit() else sh.status)


@tool("cd", builtin=True)
def cd(sh, argv, io):
    target = argv[1] if len(argv) > 1 else sh.vars.get("HOME", "/")
    node = sh.fs.get(target, sh.cwd)
    if node is None or node.kind != "dir":
        io.err(f"sh: cd: can't cd to {target}: No such file or directory\n")
        return 2
    sh.cwd = sh.fs.norm(target, sh.cwd)
    return 0


@tool("pwd", builtin=True)
def pwd(sh, argv, io):
    io.out(sh.cwd + "\n")
    return 0


@tool("export", builtin=True)
def export(sh, argv, io):
    for arg in argv[1:]:
        name, eq, value = arg.partition("=")
        if eq:
            sh.vars[name] = value
    return 0


@tool("command", builtin=True)
def command(sh, argv, io):
    args = argv[1:]
    if args and args[0] == "-v":
        status = 0
        for name in args[1:]:
            if name in sh.builtins:
                io.out(name + "\n")
                continue
            path = sh.resolve(name)
            if path is None:
                status = 1
            else:
                io.out(path + "\n")
        return status
    return sh.exec_argv(args, io) if args else 0


@tool("test", "[", builtin=True)
def test(sh, argv, io):
    args = argv[1:]
    if argv[0] == "[":
        if not args or args[-1] != "]":
            io.err("sh: [: missing ]\n")
            return 2
        args = args[:-1]
    try:
        return 0 if _test_expr(sh, args) else 1
    except ValueError as exc:
        io.err(f"sh: test: {exc}\n")
        return 2


def _test_expr(sh: Shell, args: List[str]) -> bool:
    if not args:
        return False
    if args[0] == "!":
        return not _test_expr(sh, args[1:])
    for op in ("-a", "-o"):
        if op in args[1:]:
            i = args.index(op, 1)
            left, right = _test_expr(sh, args[:i]), _test_expr(sh, args[i + 1:])
            return (left and right) if op == "-a" else (left or right)
    if len(args) == 1:
        return args[0] != ""
    if len(args) == 2:
        op, operand = args
        if op == "-n":
            return operand != ""
        if op == "-z":
            return operand == ""
        node = sh.fs.get(operand, sh.cwd)
        checks = {"-e": lambda n: True, "-f": lambda n: n.kind == "file", "-d": lambda n: n.kind == "dir",
                  "-x": lambda n: bool(n.mode & 0o111), "-s": lambda n: n.length > 0 or n.kind == "dir",
                  "-r": lambda n: True, "-w": lambda n: True, "-L": lambda n: False, "-h": lambda n: False}
        if op not in checks:
            raise ValueError(f"{op}: unknown operand")
        return node is not None and checks[op](node)
    if len(args) == 3:
        a, op, b = args
        if op in ("=", "=="):
            return a == b
        if op == "!=":
            return a != b
        ints = {"-eq": int.__eq__, "-ne": int.__ne__, "-gt": int.__gt__, "-lt": int.__lt__, "-ge": int.__ge__, "-le": int.__le__}
        if op in ints:
            try:
                return ints[op](int(a), int(b))
            except ValueError:
                raise ValueError(f"{a if not a.lstrip('-').isdigit() else b}: bad number") from None
    raise ValueError("syntax error")


@tool("sh", "bash", builtin=True)
def sh_(sh, argv, io):
    if len(argv) >= 3 and argv[1] == "-c" or len(argv) == 1:
        sub = Shell(sh.board, sh.tools, sh.builtins, sh.budget)  # one budget for the whole command line
        try:
            if len(argv) == 1:
                return sub.run_into(io.stdin.decode("latin-1"), io._out, io._err, io._events, b"")
            return sub.run_into(argv[2], io._out, io._err, io._events, io.stdin)
        finally:
            sh.problem = sh.problem or sub.problem
    io.err("sh: only `sh -c COMMAND` is supported by the emulated board\n")
    return 2


# ------------------------------------------------------------ file tools

@tool("cat")
def cat(sh, argv, io):
    status = 0
    files = [a for a in argv[1:] if a != "-u"] or ["-"]
    for path in files:
        if path == "-":
            io.out(io.stdin)
            continue
        data = _read(sh, path, io, "cat")
        if data is None:
            status = 1
        else:
            io.out(data)
    return status


def _printable_runs(data: bytes, minimum: int) -> List[bytes]:
    return re.findall(rb"[\t\x20-\x7e]{%d,}" % minimum, data)


@tool("strings")
def strings(sh, argv, io):
    minimum, files, args = 4, [], argv[1:]
    while args:
        arg = args.pop(0)
        if arg == "-n" and args:
            minimum = int(args.pop(0))
        elif re.fullmatch(r"-\d+", arg):
            minimum = int(arg[1:])
        elif arg in ("-a", "--all"):
            continue
        else:
            files.append(arg)
    status = 0
    for path in files or ["-"]:
        if path == "-":
            data = io.stdin
        else:
            node = sh.fs.get(path, sh.cwd)
            if node is None:
                io.err(f"strings: {path}: No such file or directory\n")
                status = 1
                continue
            if node.kind == "dir":
                io.err(f"strings: {path}: Is a directory\n")
                status = 1
                continue
            data = node.data  # NUL padding adds no runs
        for run in _printable_runs(data, minimum):
            io.out(run + b"\n")
    return status


def _bre_to_python(pattern: str) -> str:
    """POSIX basic regex -> Python: in BRE `\\| \\( \\) \\{ \\} \\+ \\?` are operators, the bare forms literal."""
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            out += nxt if nxt in "|(){}+?" else "\\" + nxt
            i += 2
            continue
        out += "\\" + c if c in "|(){}+?" else c
        i += 1
    return out


@tool("grep", "egrep", "fgrep")
def grep(sh, argv, io):
    opts = {"i": False, "E": argv[0] == "egrep", "F": argv[0] == "fgrep", "o": False, "h": False, "H": False,
            "s": False, "c": False, "v": False, "q": False, "n": False, "l": False, "w": False, "x": False,
            "a": False, "I": False, "r": False}  # -a/-I: binary handling is not modelled (lines are bytes already)
    patterns, files, max_count = [], [], None
    args = argv[1:]
    while args:
        arg = args.pop(0)
        if arg == "--":
            files.extend(args); break
        if arg.startswith("-") and len(arg) > 1:
            j = 1
            while j < len(arg):
                ch = arg[j]
                if ch in ("e", "m"):
                    value = arg[j + 1:] or (args.pop(0) if args else None)
                    if value is None:
                        io.err(f"grep: option requires an argument -- '{ch}'\n")
                        return 2
                    if ch == "e":
                        patterns.append(value)
                    else:
                        max_count = int(value)
                    break
                if ch not in opts:
                    io.err(f"grep: invalid option -- '{ch}'\n")
                    return 2
                opts[ch] = True
                j += 1
            continue
        if not patterns and not any(a for a in argv[1:] if a.startswith("-e")):
            patterns.append(arg)
        else:
            files.append(arg)
    if not patterns:
        io.err("Usage: grep [-HhnlLoqvsriwFE] [-m N] [-A/B/C N] PATTERN/-e PATTERN.../-f FILE [FILE]...\n")
        return 2
    flags = re.IGNORECASE if opts["i"] else 0
    try:
        regexes = [re.compile(re.escape(p) if opts["F"] else (p if opts["E"] else _bre_to_python(p)), flags) for p in patterns]
    except re.error as exc:
        io.err(f"grep: bad regex: {exc}\n")
        return 2
    if opts["w"]:
        regexes = [re.compile(r"(?<!\w)(?:%s)(?!\w)" % r.pattern, flags) for r in regexes]
    if opts["x"]:
        regexes = [re.compile(r"^(?:%s)$" % r.pattern, flags) for r in regexes]
    show_name = (len(files) > 1 or opts["H"]) and not opts["h"]
    matched_any, error = False, False
    for path in files or ["-"]:
        if path == "-":
            data = io.stdin
        else:
            node = sh.fs.get(path, sh.cwd)
            if node is None or node.kind == "dir":
                if not opts["s"]:
                    io.err(f"grep: {path}: {'No such file or directory' if node is None else 'Is a directory'}\n")
                error = True
                continue
            data = node.content()
        count = 0
        for lineno, line in enumerate(_lines(data), 1):
            if max_count is not None and count >= max_count:
                break
            hits = [m for r in regexes for m in r.finditer(line)]
            if bool(hits) == opts["v"]:
                continue
            count += 1
            matched_any = True
            if opts["q"]:
                return 0
            if opts["c"] or opts["l"]:
                continue
            prefix = (path + ":" if show_name else "") + (f"{lineno}:" if opts["n"] else "")
            if opts["o"] and not opts["v"]:
                for m in sorted(hits, key=lambda m: m.start()):
                    if m.group(0):
                        io.out(prefix + m.group(0) + "\n")
            else:
                io.out(prefix + line + "\n")
        if opts["c"]:
            io.out((path + ":" if show_name else "") + f"{count}\n")
        if opts["l"] and count:
            io.out(path + "\n")
    if error:
        return 2
    return 0 if matched_any else 1


@tool("head", "tail")
def head_tail(sh, argv, io):
    count, files, args = 10, [], argv[1:]
    while args:
        arg = args.pop(0)
        if arg == "-n" and args:
            count = int(args.pop(0).lstrip("+-") or 10)
        elif re.fullmatch(r"-n\d+", arg):
            count = int(arg[2:])
        elif re.fullmatch(r"-\d+", arg):
            count = int(arg[1:])
        else:
            files.append(arg)
    status = 0
    for path in files or ["-"]:
        data = io.stdin if path == "-" else _read(sh, path, io, argv[0])
        if data is None:
            status = 1
            continue
        lines = data.split(b"\n")
        trailing = lines[-1] == b""
        if trailing:
            lines.pop()
        chosen = lines[:count] if argv[0] == "head" else lines[len(lines) - count:] if count else []
        io.out(b"".join(line + b"\n" for line in chosen) if (trailing or len(chosen) < len(lines)) else b"\n".join(chosen))
    return status


@tool("wc")
def wc(sh, argv, io):
    files = [a for a in argv[1:] if not a.startswith("-")]
    data = io.stdin if not files else (_read(sh, files[0], io, "wc") or b"")
    lines = data.count(b"\n")
    io.out(f"{lines}\n" if "-l" in argv else f"{lines} {len(data.split())} {len(data)}\n")
    return 0


def _ls_long(name: str, node) -> str:
    kind = stat.S_IFDIR if node.kind == "dir" else stat.S_IFREG
    when = time.strftime("%b %d  %Y", time.gmtime(node.mtime))
    return f"{stat.filemode(kind | node.mode)}    1 root     root     {node.length:>9} {when} {name}\n"


@tool("ls")
def ls(sh, argv, io):
    flags, paths = set(), []
    for arg in argv[1:]:
        if arg.startswith("-") and len(arg) > 1:
            flags.update(arg[1:])
        else:
            paths.append(arg)
    status = 0
    paths = paths or ["."]
    files = [p for p in paths if (sh.fs.get(p, sh.cwd) or None) is not None and (sh.fs.get(p, sh.cwd).kind == "file" or "d" in flags)]
    for p in paths:
        if sh.fs.get(p, sh.cwd) is None:
            io.err(f"ls: {p}: No such file or directory\n")
            status = 1
    for p in files:
        node = sh.fs.get(p, sh.cwd)
        io.out(_ls_long(p, node) if "l" in flags else p + "\n")
    dirs = [p for p in paths if p not in files and sh.fs.get(p, sh.cwd) is not None]
    for p in dirs:
        if len(paths) > 1:
            io.out(f"\n{p}:\n" if files or p != dirs[0] else f"{p}:\n")
        full = sh.fs.norm(p, sh.cwd)
        for name in sh.fs.listdir(full):
            if name.startswith(".") and "a" not in flags:
                continue
            node = sh.fs.get(posixpath.join(full, name))
            io.out(_ls_long(name, node) if "l" in flags else name + "\n")
    return status


# ------------------------------------------------------------ system tools

@tool("dmesg")
def dmesg(sh, argv, io):
    if sh.board.faults.has("dmesg-denied"):
        io.err("dmesg: klogctl: Operation not permitted\n")
        return 1
    io.out("".join(line + "\n" for line in sh.profile.dmesg))
    return 0


@tool("getprop")
def getprop(sh, argv, io):
    props = sh.profile.props
    if len(argv) == 1:
        io.out("".join(f"[{k}]: [{v}]\n" for k, v in sorted(props.items())))
    else:
        io.out(props.get(argv[1], argv[2] if len(argv) > 2 else "") + "\n")
    return 0


@tool("uname")
def uname(sh, argv, io):
    p = sh.profile
    flags = "".join(a[1:] for a in argv[1:] if a.startswith("-"))
    if "a" in flags:
        io.out(uname_all(p) + "\n")
        return 0
    order = [("s", "Linux"), ("n", p.hostname), ("r", p.uname_release), ("v", p.uname_version), ("m", p.uname_machine), ("o", "GNU/Linux")]
    bad = [c for c in flags if c not in "snrvmpio"]
    if bad:
        io.err(f"uname: invalid option -- '{bad[0]}'\n")
        return 1
    flags = flags.replace("p", "m").replace("i", "m") or "s"
    io.out(" ".join(v for k, v in order if k in flags) + "\n")
    return 0


@tool("which")
def which(sh, argv, io):
    status = 0
    for name in argv[1:]:
        path = sh.resolve(name)
        if path is None or "/" in name and not sh.fs.get(name).mode & 0o111:
            status = 1
        else:
            io.out(path + "\n")
    return status


@tool("pidof")
def pidof(sh, argv, io):
    pids = [str(p.pid) for p in sh.profile.processes if p.name in argv[1:]]
    if pids:
        io.out(" ".join(reversed(pids)) + "\n")
    return 0 if pids else 1


@tool("ps")
def ps(sh, argv, io):
    procs = sh.profile.processes
    if sh.profile.os == "android":
        io.out("USER           PID  PPID     VSZ    RSS WCHAN            ADDR S NAME\n")
        for p in procs:
            io.out(f"{p.user:<12}{p.pid:>6}{1 if p.pid > 1 else 0:>6}   12345   2345 0                   0 S {p.cmdline}\n")
    else:
        io.out("  PID USER       VSZ STAT COMMAND\n")
        for p in procs:
            io.out(f"{p.pid:>5} {p.user:<8}  1234 S    {p.cmdline}\n")
    return 0


@tool("id")
def id_(sh, argv, io):
    user = sh.profile.user
    uid = 0 if user == "root" else 2000
    io.out(f"uid={uid}({user}) gid={uid}({user}) groups={uid}({user})\n")
    return 0


@tool("sleep")
def sleep(sh, argv, io):
    try:
        io.sleep(float(argv[1].rstrip("s")))
    except (IndexError, ValueError):
        io.err("sleep: invalid number\n")
        return 1
    return 0


@tool("lsmod")
def lsmod(sh, argv, io):
    io.out("Module                  Size  Used by\n")
    io.out("".join(f"{m.name:<20}{m.size:>8}  {m.used}\n" for m in sh.profile.modules))
    return 0


@tool("python3")
def python3(sh, argv, io):
    if len(argv) == 2 and argv[1] in ("--version", "-V"):
        io.out(f"Python {sh.profile.python_version}\n")
        return 0
    io.err("python3: the emulated board only answers `python3 --version`\n")
    return 2

