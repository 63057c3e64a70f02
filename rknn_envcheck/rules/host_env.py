"""One environment per report: when the judged Python cannot take the toolkit and the wheel row
proposes a new virtual environment, every other host fix installs into that environment too.

Before this, a toolkit-1.7.5 report created a Python 3.8 venv for the wheel while the psutil,
requests, numpy rows pinned versions into the current 3.11 interpreter — an environment the
toolkit would never run in. Pure: checks in, checks out.
"""
from __future__ import annotations

from rknn_envcheck.records import replace

from rknn_envcheck.report import Fix
from rknn_envcheck.shellcmd import Command

NEW_VENV = "~/rknn-venv"
NEW_VENV_PIP = (f"{NEW_VENV}/bin/python", "-m", "pip")


def new_environment(checks: list) -> str | None:
    """The venv a failing wheel row creates (`pythonX.Y -m venv DIR`), or None."""
    for check in checks:
        if check.id != "host.wheel" or check.status not in ("fail", "warn") or check.fix is None:
            continue
        for command in check.fix.commands:
            argv = tuple(getattr(command, "argv", ()) or ())
            if len(argv) == 4 and argv[1:3] == ("-m", "venv"):
                return argv[3]
    return None


def one_environment(checks: list, judged_pip: list[str]) -> list:
    """Rewrite the judged interpreter's pip in every other row to the new venv's pip."""
    venv = new_environment(checks)
    if venv is None:
        return checks
    new_pip = (f"{venv}/bin/python", "-m", "pip")
    old = tuple(judged_pip)
    out = []
    for check in checks:
        commands = list(check.fix.commands) if check.fix else []
        moved = [Command([*new_pip, *c.argv[len(old):]], shell=c.shell, note=c.note)
                 if tuple(getattr(c, "argv", ())[:len(old)]) == old and check.id != "host.wheel" else c for c in commands]
        if moved != commands or any(m is not c for m, c in zip(moved, commands)):
            check = replace(check, fix=Fix(f"{check.fix.text} — in {venv}, the environment the wheel row creates for the toolkit "
                                           "(this Python cannot install it)", moved))
        out.append(check)
    return out
