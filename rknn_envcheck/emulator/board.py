"""One virtual board (profile + faults + filesystem + counters) and the in-process BoardSession on it.

BoardState is shared by both ways of serving a board (in-process and the ADB server), so the
same shell, the same faults and the same counters apply whichever way a probe reaches it.
"""
from __future__ import annotations

import itertools
import os
import random
import threading
import time
from typing import List, Optional

from rknn_envcheck.boards.base import BoardError, ShellResult
from rknn_envcheck.emulator.faults import Faults
from rknn_envcheck.emulator.limits import Budget, Limits
from rknn_envcheck.emulator.profile import Profile, load_profile
from rknn_envcheck.emulator.shell import Execution, Shell
from rknn_envcheck.emulator.tools import BUILTINS, TOOLS
from rknn_envcheck.emulator.vfs import build_vfs
from rknn_envcheck.records import asdict, dataclass, replace


_BOARD_KEYS = itertools.count(1)


@dataclass
class Counters:
    round_trips: int = 0       # shell/exec services opened (one per adb shell / shell() call)
    shell_commands: int = 0    # command strings actually run by the board's shell
    simple_commands: int = 0   # simple commands inside them (`a; b | c` is 3)
    sync_sessions: int = 0     # sync: services opened (adb pull/push, adbutils sync)
    connections: int = 0       # TCP connections accepted (ADB server only)
    refused_connections: int = 0  # closed at once: the emulator process was at Limits.max_connections

    def as_dict(self) -> dict:
        return asdict(self)


class BoardState:
    def __init__(self, profile: Profile, faults: Optional[Faults] = None, limits: Optional[Limits] = None):
        self.profile = profile
        self.faults = profile.faults.merged(faults) if faults else profile.faults
        self.limits = limits or Limits()
        self.fs = build_vfs(profile, self.faults.missing_binaries)
        self.fs.limits = (self.limits.sync_file_bytes, self.limits.board_storage_bytes, self.limits.board_files)
        self.stats = Counters()
        self.lock = threading.Lock()
        self.key = f"{os.getpid()}-{next(_BOARD_KEYS)}"  # names this board to the shell worker processes

    @property
    def name(self) -> str:
        return self.profile.name

    def count(self, field: str, n: int = 1) -> None:
        with self.lock:
            setattr(self.stats, field, getattr(self.stats, field) + n)

    def run(self, command: str, budget_bytes: int, program: Optional[list] = None) -> Execution:
        """The board's `sh -c COMMAND` in this process, within an output budget; no counters, no faults."""
        with self.lock:
            return Shell(self, TOOLS, BUILTINS, Budget(budget_bytes)).run(command, program)

    def finish(self, result: Execution, command: str) -> Execution:
        """Count a command that ran (here or in a shell worker) and apply the output faults."""
        with self.lock:
            self.stats.shell_commands += 1
            self.stats.simple_commands += result.commands
        return apply_output_faults(result, self.faults, command)

    def execute(self, command: str) -> Execution:
        """Run one command string through a fresh `sh -c` and apply the output faults (in-process)."""
        return self.finish(self.run(command, self.limits.shell_output_bytes), command)


def apply_output_faults(result: Execution, faults: Faults, command: str) -> Execution:
    if faults.has("garbage"):
        rng = random.Random(command)  # reproducible: same command, same garbage
        noise = lambda n: rng.getrandbits(8 * n).to_bytes(n, "little")  # noqa: E731
        events = [(k, noise(max(16, len(d))) if k == "out" else d) for k, d in result.events]
        if not any(k == "out" for k, _ in events):
            events.append(("out", noise(16)))
        return replace(result, events=events)
    if faults.has("truncated"):
        return replace(result, events=cut_stdout(result.events, len(result.stdout) // 2))
    return result


def cut_stdout(events: list, keep: int) -> list:
    """Events with stdout limited to its first `keep` bytes (stderr and delays kept in order)."""
    out = []
    for kind, data in events:
        if kind == "out":
            data, keep = data[:keep], keep - min(keep, len(data))
            if not data:
                continue
        out.append((kind, data))
    return out


def to_crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


class EmulatedBoard:
    """BoardSession straight from a profile, no sockets: for unit tests and `--emulate PROFILE`."""

    transport = "emulated"

    def __init__(self, profile, faults: Optional[Faults] = None):
        if isinstance(profile, str):
            profile = load_profile(profile)
        self.state = BoardState(profile, faults)
        self.serial = f"emulated:{profile.name}"

    @property
    def profile(self) -> Profile:
        return self.state.profile

    @property
    def stats(self) -> Counters:
        return self.state.stats

    def shell(self, command: str, timeout: float) -> ShellResult:
        state, faults = self.state, self.state.faults
        state.count("round_trips")
        if faults.has("unauthorized"):
            raise BoardError("unauthorized", f"{self.serial}: device unauthorized (the board did not accept this PC's adb key)")
        if faults.has("offline"):
            raise BoardError("offline", f"{self.serial}: device offline (the board never answered the adb handshake)")
        if faults.has("hang"):
            time.sleep(timeout)
            raise BoardError("timeout", f"{self.serial}: no answer to {command!r} within {timeout:g} s")
        result = state.execute(command)
        delay = faults.slow_seconds + result.delay
        if delay >= timeout:
            time.sleep(timeout)
            raise BoardError("timeout", f"{self.serial}: no answer to {command!r} within {timeout:g} s")
        if delay:
            time.sleep(delay)
        if faults.has("drop"):
            raise BoardError("disconnected", f"{self.serial}: connection closed in the middle of {command!r}")
        return self._result(result.events, result.status)

    def _result(self, events: List[tuple], status: int) -> ShellResult:
        out = b"".join(d for k, d in events if k == "out")
        err = b"".join(d for k, d in events if k == "err")
        if "shell_v2" not in self.profile.features:
            # adb shell v1: stderr arrives merged into stdout (the exit code comes via adbutils' marker)
            out, err = b"".join(d for k, d in events if k in ("out", "err")), b""
        if self.profile.crlf:
            out, err = to_crlf(out), to_crlf(err)
        return ShellResult(out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), status)
