"""Device-side ADB server (what adbd is on a board), asyncio, one listening port per emulated board.

The real adb server attaches with `adb connect 127.0.0.1:PORT`. Loopback only, OS-assigned ports
by default, never 5555-5585 (adb servers auto-attach anything listening there as an emulator).
Design notes and the measurements behind them: shared/reference/adb-emulation.md.
"""
from __future__ import annotations

import asyncio
import os
import threading
from typing import Dict, List, Optional

from rknn_envcheck.errors import UsageError
from rknn_envcheck.emulator import protocol as P
from rknn_envcheck.emulator.board import BoardState, cut_stdout, to_crlf
from rknn_envcheck.emulator.faults import Faults
from rknn_envcheck.emulator.profile import Profile
from rknn_envcheck.emulator.sync import run_sync

EMULATOR_PORTS = range(5555, 5586)  # adb servers scan these for emulators: never listen there
ACK_TIMEOUT = 30.0


class StreamClosed(Exception):
    pass


class Stream:
    """One service stream; at most one WRTE in flight (the host OKAYs each before the next)."""

    def __init__(self, conn: "Connection", local_id: int, remote_id: int):
        self.conn, self.local_id, self.remote_id = conn, local_id, remote_id
        self.acked = asyncio.Event()
        self.acked.set()
        self.inbox = bytearray()
        self.data_ready = asyncio.Event()
        self.closed = False
        self.task: Optional[asyncio.Task] = None

    async def write(self, data: bytes) -> None:
        size = self.conn.max_payload
        for i in range(0, len(data), size):
            await self._wait_ack()
            self.acked.clear()
            await self.conn.send(P.A_WRTE, self.local_id, self.remote_id, data[i:i + size])
        await self._wait_ack()

    async def _wait_ack(self) -> None:
        if self.closed:
            raise StreamClosed()
        await asyncio.wait_for(self.acked.wait(), ACK_TIMEOUT)
        if self.closed:
            raise StreamClosed()

    async def read_exact(self, n: int) -> bytes:
        while len(self.inbox) < n:
            if self.closed:
                raise StreamClosed()
            self.data_ready.clear()
            await self.data_ready.wait()
        data = bytes(self.inbox[:n])
        del self.inbox[:n]
        return data

    def feed(self, data: bytes) -> None:
        self.inbox += data
        self.data_ready.set()

    def host_closed(self) -> None:
        self.closed = True
        self.acked.set()
        self.data_ready.set()

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.conn.streams.pop(self.local_id, None)
            await self.conn.send(P.A_CLSE, self.local_id, self.remote_id)


class Connection:
    """One TCP connection from an adb server: handshake state machine + stream multiplexing."""

    def __init__(self, board: "ServedBoard", reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.board, self.state = board, board.state
        self.reader, self.writer = reader, writer
        self.max_payload = self.state.profile.max_payload
        self.online = False
        self.streams: Dict[int, Stream] = {}
        self.next_id = 1

    async def send(self, command: int, arg0: int, arg1: int, data: bytes = b"") -> None:
        # One event-loop thread: a packet is written whole, so no lock; drain only under pressure.
        self.writer.write(P.pack(command, arg0, arg1, data))
        if self.writer.transport.get_write_buffer_size() > 256 * 1024:
            await self.writer.drain()

    def abort(self) -> None:
        """Drop the TCP connection the hard way (fault `drop`)."""
        transport = self.writer.transport
        if transport is not None:
            transport.abort()

    async def run(self) -> None:
        faults = self.state.faults
        async for command, arg0, arg1, data in P.packets(self.reader):
            if command == P.A_CNXN:
                self.max_payload = max(256, min(arg1 or self.max_payload, self.state.profile.max_payload))
                if faults.has("offline"):
                    continue  # never answer: the adb server keeps the board `offline`
                if faults.has("unauthorized"):
                    await self.send(P.A_AUTH, P.AUTH_TOKEN, 0, os.urandom(20))
                    continue
                self.online = True
                profile = self.state.profile
                await self.send(P.A_CNXN, profile.protocol_version, profile.max_payload, profile.banner())
            elif command == P.A_AUTH:
                if arg0 == P.AUTH_SIGNATURE:
                    await self.send(P.A_AUTH, P.AUTH_TOKEN, 0, os.urandom(20))  # never accept a key
            elif not self.online:
                continue
            elif command == P.A_OPEN:
                await self._open(arg0, data.rstrip(b"\x00").decode("utf-8", "replace"))
            elif command == P.A_OKAY:
                stream = self.streams.get(arg1)
                if stream is not None:
                    stream.acked.set()
            elif command == P.A_WRTE:
                stream = self.streams.get(arg1)
                if stream is not None:
                    await self.send(P.A_OKAY, arg1, arg0)
                    stream.feed(data)
            elif command == P.A_CLSE:
                stream = self.streams.pop(arg1, None)
                if stream is not None and not stream.closed:
                    stream.host_closed()
                    await self.send(P.A_CLSE, arg1, arg0)
                    if stream.task is not None:
                        stream.task.cancel()

    async def _open(self, remote_id: int, service: str) -> None:
        head, _, command = service.partition(":")
        name, *options = head.split(",")
        if name not in ("shell", "exec", "sync"):
            await self.send(P.A_CLSE, 0, remote_id)  # refused: the client prints `error: closed`
            return
        stream = Stream(self, self.next_id, remote_id)
        self.next_id += 1
        if name == "sync":
            self.state.count("sync_sessions")
            self.streams[stream.local_id] = stream
            await self.send(P.A_OKAY, stream.local_id, remote_id)
            stream.task = asyncio.ensure_future(self._guard(stream, run_sync(stream, self.state)))
            return
        self.state.count("round_trips")
        v2 = name == "shell" and "v2" in options
        pty = "pty" in options or (name == "shell" and not command and "raw" not in options)
        crlf = pty or (name == "shell" and not v2 and self.state.profile.crlf)
        faults = self.state.faults
        result = None
        if command.strip() and not (faults.has("hang") or faults.has("drop") or faults.slow_seconds):
            result = self.state.execute(command)
            if self._answer_at_once(stream, result, v2, pty, crlf):
                return
        self.streams[stream.local_id] = stream
        await self.send(P.A_OKAY, stream.local_id, remote_id)
        stream.task = asyncio.ensure_future(self._guard(stream, self._shell(stream, command, result, v2, pty, crlf)))

    def _answer_at_once(self, stream: Stream, result, v2: bool, pty: bool, crlf: bool) -> bool:
        """OKAY + one WRTE + CLSE in a single write when the answer is short and immediate.

        The common case (every probe query): no task, no waiting. The WRTE may precede the
        host's OKAY of it because nothing but CLSE follows it on this stream.
        """
        if result.delay:
            return False
        body = self._render(result.events, v2, pty, crlf)
        if v2:
            body += P.shell_packet(P.SHELL_EXIT, bytes([result.status & 0xFF]))
        if len(body) > self.max_payload:
            return False
        local, remote = stream.local_id, stream.remote_id
        packets = P.pack(P.A_OKAY, local, remote)
        if body:
            packets += P.pack(P.A_WRTE, local, remote, body)
        self.writer.write(packets + P.pack(P.A_CLSE, local, remote))
        return True

    @staticmethod
    def _render(events, v2: bool, pty: bool, crlf: bool) -> bytes:
        out = bytearray()
        for kind, data in events:
            if kind == "sleep":
                continue
            if crlf:
                data = to_crlf(data)
            if v2:
                out += P.shell_packet(P.SHELL_STDERR if kind == "err" and not pty else P.SHELL_STDOUT, data)
            else:
                out += data
        return bytes(out)

    async def _guard(self, stream: Stream, coro) -> None:
        try:
            await coro
        except (StreamClosed, asyncio.CancelledError, ConnectionError, asyncio.TimeoutError):
            pass

    async def _shell(self, stream: Stream, command: str, result, v2: bool, pty: bool, crlf: bool) -> None:
        faults = self.state.faults
        if not command.strip() and pty and not faults.has("hang"):
            await self._interactive(stream, v2)
            return
        if faults.has("hang"):
            await asyncio.Event().wait()  # accepted, never answered; the host's CLSE cancels us
        if faults.slow_seconds:
            await asyncio.sleep(faults.slow_seconds)
        if result is None:
            result = self.state.execute(command)
        events = result.events
        if faults.has("drop"):
            events = [e for e in cut_stdout(events, max(1, len(result.stdout) // 2)) if e[0] == "out"]
        pending = bytearray()
        for event in events:
            if event[0] == "sleep":
                if pending:
                    await stream.write(bytes(pending))
                    pending.clear()
                await asyncio.sleep(event[1])
            else:
                pending += self._render([event], v2, pty, crlf)
        if faults.has("drop"):
            if pending:
                await stream.write(bytes(pending))
            await asyncio.sleep(0.05)
            self.abort()
            return
        if v2:
            pending += P.shell_packet(P.SHELL_EXIT, bytes([result.status & 0xFF]))
        if pending:
            await stream.write(bytes(pending))
        await stream.close()

    async def _interactive(self, stream: Stream, v2: bool) -> None:
        """`adb shell` with no command: a line-editing prompt (the terminal is raw, so we echo)."""
        prompt = b"# " if self.state.profile.user == "root" else b"$ "

        async def out(data: bytes) -> None:
            await stream.write(P.shell_packet(P.SHELL_STDOUT, data) if v2 else data)

        async def next_input() -> bytes:
            if not v2:
                return await stream.read_exact(1)
            while True:
                header = await stream.read_exact(5)
                data = await stream.read_exact(int.from_bytes(header[1:], "little"))
                if header[0] == P.SHELL_STDIN:
                    return data
                if header[0] == P.SHELL_CLOSE_STDIN:
                    return b"\x04"

        await out(prompt)
        line, status = bytearray(), 0
        while True:
            for byte in await next_input():
                char = bytes([byte])
                if char in (b"\r", b"\n"):
                    await out(b"\r\n")
                    text = line.decode("utf-8", "replace").strip()
                    line.clear()
                    if text in ("exit", "logout"):
                        status = -1
                    elif text:
                        self.state.count("round_trips")
                        result = self.state.execute(text)
                        body = b"".join(d for k, d in result.events if k != "sleep")
                        if body:
                            await out(to_crlf(body))
                    if status < 0:
                        break
                    await out(prompt)
                elif char == b"\x04" and not line:
                    status = -1
                    break
                elif char == b"\x03":
                    line.clear()
                    await out(b"^C\r\n" + prompt)
                elif char in (b"\x7f", b"\x08"):
                    if line:
                        line.pop()
                        await out(b"\b \b")
                elif byte >= 0x20:
                    line += char
                    await out(char)
            if status < 0:
                break
        if v2:
            await stream.write(P.shell_packet(P.SHELL_EXIT, b"\x00"))
        await stream.close()


class ServedBoard:
    """A board listening on 127.0.0.1:port; `stats` counts what it served."""

    def __init__(self, state: BoardState):
        self.state = state
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
            self.server = await asyncio.start_server(self._handle, "127.0.0.1", port)
            self.port = self.server.sockets[0].getsockname()[1]
            if port or self.port not in EMULATOR_PORTS:
                return
            self.server.close()  # the OS picked an emulator port (very unlikely): pick again
        raise OSError("could not get a port outside 5555-5585")

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.state.count("connections")
        conn = Connection(self, reader, writer)
        self.connections.append(conn)
        try:
            await conn.run()
        except (asyncio.IncompleteReadError, ConnectionError, P.ProtocolError, asyncio.CancelledError):
            pass
        finally:
            for stream in list(conn.streams.values()):
                stream.host_closed()
                if stream.task is not None:
                    stream.task.cancel()
            self.connections.remove(conn)
            writer.close()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            for conn in list(self.connections):
                conn.abort()
            await self.server.wait_closed()


class EmulatorHost:
    """Many boards served by one event loop, run in a background thread (tests, benchmark, demo)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.boards: List[ServedBoard] = []
        self.thread = threading.Thread(target=self.loop.run_forever, name="rknn-emulator", daemon=True)
        self.thread.start()

    def _call(self, coro, timeout: float = 10.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def serve(self, profile: Profile, faults: Optional[Faults] = None, port: int = 0) -> ServedBoard:
        board = ServedBoard(BoardState(profile, faults))
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
