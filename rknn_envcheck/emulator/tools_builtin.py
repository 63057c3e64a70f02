"""The shell builtins of the emulated board (echo, printf, test, cd, export, command, exit, sh -c):
busybox wording, since these messages are what a probe has to cope with."""
from __future__ import annotations

import re
from typing import List

from rknn_envcheck.emulator.limits import OutputCapExceeded
from rknn_envcheck.emulator.shell import ExitShell, Shell
from rknn_envcheck.emulator.tool_registry import tool


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
