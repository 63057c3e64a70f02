"""The file tools of the emulated board (cat, strings, grep, head/tail, wc, ls) over its virtual
filesystem: busybox options and wording."""
from __future__ import annotations

import posixpath
import re
import stat
import time
from typing import List

from rknn_envcheck.emulator.tool_registry import read_file, text_lines, tool


@tool("cat")
def cat(sh, argv, io):
    status = 0
    files = [a for a in argv[1:] if a != "-u"] or ["-"]
    for path in files:
        if path == "-":
            io.out(io.stdin)
            continue
        data = read_file(sh, path, io, "cat")
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


def _grep_arguments(argv, io):
    """(options, patterns, files, max_count) from grep's command line, or the exit status (2)
    after printing a usage error."""
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
    return opts, patterns, files, max_count


def _grep_regexes(opts: dict, patterns: List[str], io):
    """The compiled patterns (-F fixed, -E extended, else basic; -i, -w, -x), or None after
    printing the regex error."""
    flags = re.IGNORECASE if opts["i"] else 0
    try:
        regexes = [re.compile(re.escape(p) if opts["F"] else (p if opts["E"] else _bre_to_python(p)), flags) for p in patterns]
    except re.error as exc:
        io.err(f"grep: bad regex: {exc}\n")
        return None
    if opts["w"]:
        regexes = [re.compile(r"(?<!\w)(?:%s)(?!\w)" % r.pattern, flags) for r in regexes]
    if opts["x"]:
        regexes = [re.compile(r"^(?:%s)$" % r.pattern, flags) for r in regexes]
    return regexes


def _grep_input(data: bytes, path: str, regexes, opts: dict, max_count, show_name: bool, io):
    """Print one input's matching lines as the options say. Returns (lines matched, whether -q
    found one and grep stops)."""
    count = 0
    for lineno, line in enumerate(text_lines(data), 1):
        if max_count is not None and count >= max_count:
            break
        hits = [m for r in regexes for m in r.finditer(line)]
        if bool(hits) == opts["v"]:
            continue
        count += 1
        if opts["q"]:
            return count, True
        if opts["c"] or opts["l"]:
            continue
        prefix = (path + ":" if show_name else "") + (f"{lineno}:" if opts["n"] else "")
        if opts["o"] and not opts["v"]:
            for m in sorted(hits, key=lambda m: m.start()):
                if m.group(0):
                    io.out(prefix + m.group(0) + "\n")
        else:
            io.out(prefix + line + "\n")
    return count, False


@tool("grep", "egrep", "fgrep")
def grep(sh, argv, io):
    parsed = _grep_arguments(argv, io)
    if isinstance(parsed, int):
        return parsed
    opts, patterns, files, max_count = parsed
    regexes = _grep_regexes(opts, patterns, io)
    if regexes is None:
        return 2
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
        count, quiet_match = _grep_input(data, path, regexes, opts, max_count, show_name, io)
        if quiet_match:
            return 0
        matched_any = matched_any or count > 0
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
        data = io.stdin if path == "-" else read_file(sh, path, io, argv[0])
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
    data = io.stdin if not files else (read_file(sh, files[0], io, "wc") or b"")
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
