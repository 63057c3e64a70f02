"""The emulated board's command table: `@tool(names...)` registers `tool(sh, argv, io) -> status`
in TOOLS (found on PATH) or BUILTINS (the shell's own), plus the helpers every tool module shares.
The tools themselves: tools_builtin.py, tools_files.py, tools_system.py (tools.py loads them).
"""
from __future__ import annotations

from typing import Dict, List

from rknn_envcheck.emulator.shell import IO, Shell, Tool

TOOLS: Dict[str, Tool] = {}
BUILTINS: Dict[str, Tool] = {}


def tool(*names, builtin=False):
    def register(fn):
        for name in names:
            (BUILTINS if builtin else TOOLS)[name] = fn
        return fn
    return register


def read_file(sh: Shell, path: str, io: IO, prog: str):
    """File bytes, or None after printing the busybox-style error."""
    node = sh.fs.get(path, sh.cwd)
    if node is None:
        io.err(f"{prog}: {path}: No such file or directory\n")
        return None
    if node.kind == "dir":
        io.err(f"{prog}: read error: Is a directory\n")
        return None
    return node.content()


def text_lines(data: bytes) -> List[str]:
    text = data.decode("latin-1")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines
