"""The one interface every board transport implements.

A probe needs exactly this: run one read-only shell command with a timeout and get stdout,
stderr and the exit status back. Everything else (parsing, judging) is transport-agnostic,
so adb boards, emulated boards and the local board are interchangeable.
"""
from __future__ import annotations

from typing import Optional, Protocol

from rknn_envcheck.records import dataclass


@dataclass
class ShellResult:
    stdout: str
    stderr: str = ""
    exit_code: Optional[int] = None  # None: the transport cannot report it (adb shell v1)


class BoardError(Exception):
    """The board could not answer: lost, hung, refused, or answered something unusable.

    `kind` is one of: "timeout", "disconnected", "refused", "unauthorized", "offline",
    "not-found", "protocol".
    """

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


class BoardSession(Protocol):
    serial: str
    transport: str  # "adb", "ntb", "emulated", "local"

    def shell(self, command: str, timeout: float) -> ShellResult:
        """Run `command` through the board's /bin/sh; raise BoardError when it cannot."""
        ...
