"""A shell worker process: runs board command lines for the ADB server under RLIMIT_CPU.

Started by workers.WorkerPool as `python -I -c BOOT` (not multiprocessing: its spawn/forkserver
children re-import the parent's `__main__`, and `python -m rknn_envcheck` has no main guard).
Frames on stdin/stdout: 8-byte little-endian length + pickle. The parent only sends what the
worker lacks: a board's profile once, its filesystem changes when they moved on.

Before each command the soft RLIMIT_CPU is set to the CPU time used so far plus the command's
allowance; passing it delivers SIGXCPU, whose default action ends this process, and the pool
starts a replacement. Only the one command is lost: a thread could not have stopped a
catastrophic regex (the `re` engine holds the GIL).
"""
from __future__ import annotations

import math
import os
import pickle
import struct
import sys
from collections import OrderedDict

FRAME = struct.Struct("<Q")
CACHED_BOARDS = 64


class WorkerBoard:
    """What the shell needs of a board (BoardState without counters, locks or the event loop)."""

    def __init__(self, profile, faults, fs_limits):
        from rknn_envcheck.emulator.vfs import build_vfs

        self.profile, self.faults = profile, faults
        self.fs = build_vfs(profile, faults.missing_binaries)
        self.fs.limits = fs_limits
        self.base = dict(self.fs.nodes)

    def reset(self, changes: dict) -> None:
        self.fs.nodes = dict(self.base)
        self.fs.changes, self.fs.stored = {}, 0
        self.fs.apply(changes)


def _limit_cpu(seconds: int) -> None:
    try:
        import resource
    except ImportError:  # Windows: only the parent's wall-clock backstop applies
        return
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(usage.ru_utime + usage.ru_stime + seconds)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def handle(task: dict, boards: "OrderedDict[str, WorkerBoard]") -> dict:
    from rknn_envcheck.emulator.limits import Budget
    from rknn_envcheck.emulator.shell import Shell
    from rknn_envcheck.emulator.tools import BUILTINS, TOOLS

    key = task["key"]
    if task.get("setup") is not None:
        boards[key] = WorkerBoard(*task["setup"])
        while len(boards) > CACHED_BOARDS:
            boards.popitem(last=False)
    board = boards.get(key)
    if board is None:
        return {"need_setup": True}
    boards.move_to_end(key)
    if task.get("changes") is not None:
        board.reset(task["changes"])
    board.fs.journal = {}
    try:
        _limit_cpu(task["cpu"])
        result = Shell(board, TOOLS, BUILTINS, Budget(task["budget"])).run(task["command"])
    finally:
        journal, board.fs.journal = board.fs.journal, None
    return {"events": result.events, "status": result.status, "commands": result.commands,
            "problem": result.problem, "capped": result.capped, "journal": journal}


def main() -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a CPU-limit kill leaves no core file behind
    except (ImportError, ValueError, OSError):
        pass
    reader = os.fdopen(os.dup(0), "rb")
    writer = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):  # a stray print can never corrupt the frame stream
        os.dup2(devnull, fd)

    def send(message: dict) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        writer.write(FRAME.pack(len(data)) + data)
        writer.flush()

    send({"ready": os.getpid()})
    os.dup2(devnull, 2)  # from here on nobody reads our stderr; the parent logs failures itself
    boards: "OrderedDict[str, WorkerBoard]" = OrderedDict()
    while True:
        header = reader.read(FRAME.size)
        if len(header) < FRAME.size:
            return
        task = pickle.loads(reader.read(FRAME.unpack(header)[0]))
        try:
            reply = handle(task, boards)
        except MemoryError:
            boards.clear()
            reply = {"error": "out of memory"}
        except Exception as exc:  # noqa: BLE001 - the parent turns it into one log line
            reply = {"error": f"{type(exc).__name__}: {exc}"[:300]}
        send(reply)


if __name__ == "__main__":
    sys.exit(main())
