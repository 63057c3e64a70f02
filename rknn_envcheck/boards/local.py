"""The board the tool runs on (lite / lite2 users run everything on the board itself): the same
probe commands through a local /bin/sh instead of adb."""
from __future__ import annotations

import os
import subprocess

from rknn_envcheck.boards.base import BoardError, ShellResult


class LocalSession:
    transport = "local"

    def __init__(self, serial: str = "local", shell_path: str = "/bin/sh"):
        self.serial = serial
        self.shell_path = shell_path
        self.commands = 0

    def shell(self, command: str, timeout: float) -> ShellResult:
        self.commands += 1
        env = dict(os.environ, LC_ALL="C")
        try:
            proc = subprocess.run([self.shell_path, "-c", command], capture_output=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise BoardError("timeout", f"the local probe did not finish within {timeout:g}s") from None
        except OSError as exc:
            raise BoardError("refused", f"cannot run {self.shell_path}: {exc}") from None
        return ShellResult(proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"), proc.returncode)
