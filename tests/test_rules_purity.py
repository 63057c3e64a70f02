"""Rules are pure functions of facts + matrix (issue 13): no module under rknn_envcheck/rules/
(nor the fix planner) imports what talks to the machine, and none reads a file."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "rknn_envcheck"
PURE = sorted((PACKAGE / "rules").glob("*.py")) + [PACKAGE / "fixplan.py"]
FORBIDDEN = ("rknn_envcheck.probes", "rknn_envcheck.boards", "rknn_envcheck.udev", "rknn_envcheck.emulator", "subprocess",
             "shutil", "socket", "psutil", "usb", "adbutils", "os", "pathlib", "glob", "io")
# Calls that read the machine (files, directories, the environment).
READS = {"open", "read_text", "read_bytes", "iterdir", "glob", "rglob", "listdir", "scandir", "stat", "lstat", "exists",
         "is_file", "is_dir", "getenv", "which", "urlopen"}


def _imports(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
            names += [f"{node.module}.{a.name}" for a in node.names]
    return names


@pytest.mark.parametrize("path", PURE, ids=lambda p: p.name)
def test_no_machine_imports(path):
    imported = _imports(ast.parse(path.read_text(encoding="utf-8")))
    bad = [n for n in imported if any(n == f or n.startswith(f + ".") for f in FORBIDDEN)]
    assert not bad, f"{path.name} imports {bad}: rules get what they need from the machine as facts"


@pytest.mark.parametrize("path", PURE, ids=lambda p: p.name)
def test_no_file_reads(path):
    calls = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name in READS:
                calls.append(f"line {node.lineno}: {ast.unparse(func)}(…)")
    assert not calls, f"{path.name} reads the machine: {calls}"


def test_the_check_itself_can_fail(tmp_path):
    """The scanner sees a forbidden import and a read when there is one."""
    sample = "import subprocess\nfrom rknn_envcheck.probes.board_parse import x\n\ndef f(p):\n    return open(p).read()\n"
    tree = ast.parse(sample)
    assert "subprocess" in _imports(tree) and "rknn_envcheck.probes.board_parse" in _imports(tree)
    assert any(isinstance(n, ast.Call) and getattr(n.func, "id", "") == "open" for n in ast.walk(tree))
