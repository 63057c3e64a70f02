"""What one emulator process lets its clients use: connections, time, CPU, memory (issue 14 item 6).

Every value has a flag on `emulator serve` / `emulator demo` and is a field of `Limits` for the
Python API (`EmulatorHost(limits=Limits(max_connections=64))`). docs/emulator.md explains each
default; docs/decisions.md has the measurements behind the worker-process design.
"""
from __future__ import annotations

import os
from rknn_envcheck.records import dataclass, fields

from rknn_envcheck.errors import UsageError

MIB = 1024 * 1024
ACCEPT_BACKLOG = 64  # listen() backlog of each board; also how many asyncio accepts in one go


def default_workers() -> int:
    """Two at least: a command that burns its whole CPU budget still leaves one worker free."""
    return max(2, min(4, os.cpu_count() or 2))


# the command-line flag of each limit that has one (the others: --field-name)
FLAGS = {"shell_output_bytes": "--shell-output-cap", "sync_file_bytes": "--sync-file-cap", "workers": "--shell-workers"}


@dataclass(frozen=True)
class Limits:
    max_connections: int = 256           # per emulator process, all boards together; more are closed at once
    handshake_timeout: float = 10.0      # seconds from accept to the client's CNXN
    idle_timeout: float = 300.0          # seconds without a packet, an open stream or a TCP keepalive probe
    shell_cpu_seconds: int = 2           # RLIMIT_CPU of the worker running one command line
    shell_output_bytes: int = 8 * MIB    # bytes one command line may produce (pipes, files, expansions included)
    sync_file_bytes: int = 64 * MIB      # largest file `adb push` / sync SEND may write
    board_storage_bytes: int = 256 * MIB  # everything written to one board (push + shell redirections)
    board_files: int = 10000             # files and directories a board may gain by writes
    workers: int = 0                     # shell worker processes kept warm; 0 = default_workers()
    max_workers: int = 8                 # more start while all are busy (one spare is kept), up to this
    commands_per_connection: int = 4     # worker commands per connection computed but not yet read by the client
    streams_per_connection: int = 256    # open streams per connection; more OPENs are refused (`error: closed`)
    write_buffer_bytes: int = 256 * 1024  # unsent bytes per connection before the server waits for the client

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            where = f"{FLAGS.get(f.name, '--' + f.name.replace('_', '-'))} (Limits.{f.name})"
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise UsageError(f"{where}: expected a number, got {value!r}")
            low = 0 if f.name == "workers" else (0.1 if isinstance(value, float) else 1)
            if not low <= value <= 1 << 40:
                raise UsageError(f"{where}: {value!r} is out of range (at least {low})")

    @property
    def worker_count(self) -> int:
        return self.workers or default_workers()

    @property
    def open_files_needed(self) -> int:
        """File descriptors the process may need: the connections, a burst of accepted ones not
        yet refused (asyncio accepts up to ACCEPT_BACKLOG at once), workers' pipes, a reserve."""
        return self.max_connections + ACCEPT_BACKLOG + 4 * max(self.worker_count, self.max_workers) + 32

    @property
    def in_process_bytes(self) -> int:
        """Budget of a command answered on the event loop; above it the command is re-run in a worker."""
        return min(256 * 1024, self.shell_output_bytes)


class OutputCapExceeded(Exception):
    """A command line produced more than its budget; the shell stops it (status 153, like SIGXFSZ)."""


class Budget:
    """Bytes a command line may still produce. Shared by its pipes, files, sub-shells and expansions."""

    __slots__ = ("limit", "used")

    def __init__(self, limit: int):
        self.limit, self.used = limit, 0

    @property
    def remaining(self) -> int:
        return self.limit - self.used

    def spend(self, n: int) -> None:
        self.used += n
        if self.used > self.limit:
            raise OutputCapExceeded(self.limit)


def parse_size(text: str, flag: str) -> int:
    """`16M`, `512K`, `1048576` -> bytes; a bad value is a one-line usage error."""
    raw = str(text).strip().upper().rstrip("B").rstrip("I")
    scale = {"K": 1024, "M": MIB, "G": 1024 * MIB}.get(raw[-1:], 1)
    digits = raw[:-1] if scale > 1 else raw
    if not digits.isdigit() or len(digits) > 12:
        raise UsageError(f"{flag}: expected a size like 16M, 512K or 1048576, got {text!r}")
    return int(digits) * scale
