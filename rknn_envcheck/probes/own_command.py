"""How to run rknn-envcheck again on this machine: a fact gathered before the rules, so a fix
line replayed from a facts file (`check --facts`) names the user's command, not the replaying
machine's (rules/ and fixplan.py only read facts["tool"])."""
from __future__ import annotations

import os
import shutil
import sys


def own_command() -> dict:
    """{"argv": as the user types it, "sudo_argv": the same under sudo}. Under sudo the venv is
    rarely on PATH, so that form is the absolute script beside this Python, else `python -m`."""
    beside_python = os.path.join(os.path.dirname(sys.executable), "rknn-envcheck")
    # os.path.isfile, not Path.is_file: it never raises (EACCES on a parent directory)
    sudo_argv = [beside_python] if os.path.isfile(beside_python) else [sys.executable, "-m", "rknn_envcheck"]
    argv = ["rknn-envcheck"] if shutil.which("rknn-envcheck") else list(sudo_argv)
    return {"argv": argv, "sudo_argv": sudo_argv}
