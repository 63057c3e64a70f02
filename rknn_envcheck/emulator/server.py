"""Device-side ADB server (what adbd is on a board), asyncio, one listening port per emulated board.

The real adb server attaches with `adb connect 127.0.0.1:PORT`. Loopback only, OS-assigned ports
by default, never 5555-5585 (adb servers auto-attach anything listening there as an emulator).
Design notes and the measurements behind them: shared/reference/adb-emulation.md.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from typing import List, Optional

from rknn_envcheck.errors import UsageError
from rknn_envcheck.emulator import protocol as P
from rknn_envcheck.emulator.board import BoardState
from rknn_envcheck.emulator.connection import Connection, Stream, StreamClosed  # noqa: F401 - public names
from rknn_envcheck.emulator.faults import Faults
from rknn_envcheck.emulator.limits import ACCEPT_BACKLOG, Limits
from rknn_envcheck.emulator.profile import Profile
from rknn_envcheck.emulator.workers import ShellRunner

log = logging.getLogger("rknn_envcheck.emulator")

EMULATOR_PORTS = range(5555, 5586)  # adb servers scan these for emulators: never listen there
LOG_FORMAT = "rknn-envcheck emulator: %(message)s"


def quiet_exception_handler(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    """asyncio's own errors (e.g. `socket.accept() out of system resource` when the open-file limit
    is hit) as one log line, at most one per kind every 10 s, instead of a traceback each time."""
    exc = context.get("exception")
    text = f"{context.get('message', 'event loop error')}: {type(exc).__name__}: {exc}" if exc else str(context.get("message"))
    now, last = loop.time(), _QUIET_LAST.get(text[:80], -1e9)
    if now - last >= 10:
        _QUIET_LAST[text[:80]] = now
        log.warning("%s", text[:300])


_QUIET_LAST: dict = {}


class Runtime:
    """What the boards of one emulator process share: the limits, the shell workers, the connection count."""

    def __init__(self, limits: Optional[Limits] = None):
        self.limits = limits or Limits()
        self.runner = ShellRunner(self.limits)
        self.open_connections = 0
        self.refused_in_a_row = 0

    def admit(self) -> bool:
        if self.open_connections >= self.limits.max_connections:
            self.refused_in_a_row += 1
            if self.refused_in_a_row == 1:  # one line per episode, not one per refused connection
                log.warning("refusing new connections: %d are open (--max-connections %d)",
                            self.open_connections, self.limits.max_connections)
            return False
        if self.refused_in_a_row:
            log.warning("accepting connections again; %d were refused", self.refused_in_a_row)
            self.refused_in_a_row = 0
        self.open_connections += 1
        return True

    def release(self) -> None:
        self.open_connections -= 1

    async def close(self) -> None:
        await self.runner.close()


class ServedBoard:
    """A board listening on 127.0.0.1:port; `stats` counts what it served."""

    def __init__(self, state: BoardState, runtime: Optional[Runtime] = None):
        self.state = state
        self.owns_runtime = runtime is None
        self.runtime = runtime or Runtime(state.limits)
        self.server: Optional[asyncio.base_events.Server] = None
        self.port = 0
        self.connections: List[Connection] = []

    @property
    def name(self) -> str:
        return self.state.name

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    serial = address  # what the adb server calls a TCP device

    @property
    def stats(self):
        return self.state.stats

    async def start(self, port: int = 0) -> None:
        if port in EMULATOR_PORTS:
            raise UsageError(f"--port {port}: ports 5555-5585 are scanned by every adb server as emulators; choose another port or 0 (any free port)")
        for _ in range(5):
            self.server = await asyncio.start_server(self._handle, "127.0.0.1", port, backlog=ACCEPT_BACKLOG)
            self.port = self.server.sockets[0].getsockname()[1]
            if port or self.port not in EMULATOR_PORTS:
                return
            self.server.close()  # the OS picked an emulator port (very unlikely): pick again
        raise OSError("could not get a port outside 5555-5585")

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.runtime.admit():
            self.state.count("refused_connections")
            writer.transport.abort()  # closed at once, not queued
            return
        self.state.count("connections")
        conn: Optional[Connection] = None
        try:
            conn = Connection(self, reader, writer)
            self.connections.append(conn)
            await conn.run()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        except P.ProtocolError as exc:
            if conn is not None:
                conn.note(f"closed: not the ADB protocol ({exc})")
        except Exception as exc:  # noqa: BLE001 - one line per connection, never a traceback
            if conn is not None:
                conn.note(f"closed: {type(exc).__name__}: {exc}"[:300])
        finally:
            self.runtime.release()
            if conn is not None:
                conn.finish()
                conn.log_end()
                self.connections.remove(conn)
            writer.close()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            for conn in list(self.connections):
                conn.abort()
            await self.server.wait_closed()
        if self.owns_runtime:
            await self.runtime.close()


class EmulatorHost:
    """Many boards served by one event loop, run in a background thread (tests, benchmark, demo)."""

    def __init__(self, limits: Optional[Limits] = None) -> None:
        self.limits = limits or Limits()
        self.loop = asyncio.new_event_loop()
        self.boards: List[ServedBoard] = []
        self.runtime = Runtime(self.limits)
        self.loop.set_exception_handler(quiet_exception_handler)
        self.thread = threading.Thread(target=self.loop.run_forever, name="rknn-emulator", daemon=True)
        self.thread.start()
        self.loop.call_soon_threadsafe(self.runtime.runner.pool.start)  # workers warm up meanwhile

    def _call(self, coro, timeout: float = 10.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def serve(self, profile: Profile, faults: Optional[Faults] = None, port: int = 0) -> ServedBoard:
        board = ServedBoard(BoardState(profile, faults, self.limits), self.runtime)
        self._call(board.start(port))
        self.boards.append(board)
        return board

    def close_board(self, board: ServedBoard) -> None:
        self._call(board.close())
        if board in self.boards:
            self.boards.remove(board)

    def stop(self) -> None:
        if not self.loop.is_running():
            return
        for board in list(self.boards):
            self.close_board(board)
        self._call(self.runtime.close())
        self._call(self._cancel_tasks())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()

    @staticmethod
    async def _cancel_tasks() -> None:
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def __enter__(self) -> "EmulatorHost":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
