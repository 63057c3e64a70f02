"""One TCP connection from an adb server: handshake, stream multiplexing, flow control, time limits.

Nothing a client sends may stall the event loop or grow memory without bound (issue 14 item 6):
  * handshake timeout: a client has Limits.handshake_timeout seconds to send CNXN;
  * idle timeout: a connection with no packet, no open stream and no TCP segment for
    Limits.idle_timeout seconds is closed. A real adb server keeps an idle transport open and
    sends a TCP keepalive probe every second (measured: `ss -o` shows `timer:(keepalive,1s)`,
    and tcp_info's segs_in grows by one a second), so counting received segments keeps it
    attached; where tcp_info is unavailable a connection past CNXN is never closed as idle;
  * back-pressure: the packet loop stops reading while the client does not read our answers,
    host data is acknowledged (OKAY) only when the stream has room for it, and a connection has
    at most Limits.streams_per_connection open streams (more OPENs are refused);
  * errors end in one log line per connection (the first problem, and how many more), never a traceback.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import struct
from typing import TYPE_CHECKING, Dict, Optional

from rknn_envcheck.emulator import protocol as P

if TYPE_CHECKING:
    from rknn_envcheck.emulator.server import ServedBoard

log = logging.getLogger("rknn_envcheck.emulator")

ACK_TIMEOUT = 30.0
_TCP_INFO_SEGS_IN = 140  # offset of tcpi_segs_in in Linux struct tcp_info (since 4.2)


class StreamClosed(Exception):
    pass


def tcp_segments_in(sock) -> Optional[int]:
    """Segments received on this socket, keepalive probes included; None where the OS does not say."""
    try:
        raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    except (AttributeError, OSError):
        return None
    return struct.unpack_from("<I", raw, _TCP_INFO_SEGS_IN)[0] if len(raw) >= _TCP_INFO_SEGS_IN + 4 else None


class Stream:
    """One service stream; at most one WRTE in flight (the host OKAYs each before the next)."""

    def __init__(self, conn: "Connection", local_id: int, remote_id: int, reads: bool = False):
        self.conn, self.local_id, self.remote_id = conn, local_id, remote_id
        self.acked = asyncio.Event()
        self.acked.set()
        self.reads = reads              # a command's stream ignores stdin: its data is dropped, not kept
        self.inbox = bytearray()
        self.room = max(64 * 1024, conn.max_payload)  # OKAY host data only while the inbox is below this
        self.okay_owed = False
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
            if self.okay_owed:
                await self._pay_okay()
            self.data_ready.clear()
            await self.data_ready.wait()
        data = bytes(self.inbox[:n])
        del self.inbox[:n]
        if self.okay_owed and len(self.inbox) < self.room:
            await self._pay_okay()
        return data

    async def _pay_okay(self) -> None:
        self.okay_owed = False
        await self.conn.send(P.A_OKAY, self.local_id, self.remote_id)

    def feed(self, data: bytes) -> bool:
        """Take host data; True when it may be acknowledged now, False when the OKAY waits for room."""
        if not self.reads:
            return True
        if self.okay_owed or len(self.inbox) > self.room + self.conn.max_payload:
            raise P.ProtocolError("the host sent stream data before the device acknowledged the previous packet")
        self.inbox += data
        self.data_ready.set()
        if len(self.inbox) >= self.room:
            self.okay_owed = True
            return False
        return True

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
        self.limits = board.runtime.limits
        self.runner = board.runtime.runner
        self.reader, self.writer = reader, writer
        self.max_payload = self.state.profile.max_payload
        self.online = False
        self.streams: Dict[int, Stream] = {}
        self.next_id = 1
        self.slots = asyncio.Semaphore(self.limits.commands_per_connection)
        self.drain_lock = asyncio.Lock()
        self.loop = asyncio.get_running_loop()
        self.accepted = self.last_activity = self.loop.time()
        self.greeted = False            # the client sent CNXN
        self.segments_in: Optional[int] = None
        self.problem: Optional[str] = None
        self.more_problems = 0
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self.timer = self.loop.call_later(self.limits.handshake_timeout, self._check_time)

    # -- problems and time limits
    def note(self, problem: str) -> None:
        """Remember a problem; the first is logged when the connection ends, the rest only counted."""
        if self.problem is None:
            self.problem = problem
        else:
            self.more_problems += 1

    def log_end(self) -> None:
        if self.problem is not None:
            more = f" (and {self.more_problems} more problem(s))" if self.more_problems else ""
            log.warning("%s %s from %s: %s%s", self.state.name, self.board.address, self.peer, self.problem, more)

    def _check_time(self) -> None:
        now = self.loop.time()
        if not self.greeted:
            self.note(f"closed: no CNXN within {self.limits.handshake_timeout:g} s of connecting (handshake timeout)")
            self.abort()
            return
        sock = self.writer.get_extra_info("socket")
        segments = tcp_segments_in(sock) if sock is not None else None
        if self.streams or (segments is not None and segments != self.segments_in):
            self.last_activity = now  # a running command, or the peer's TCP keepalive probes
        self.segments_in = segments
        idle = now - self.last_activity
        if idle >= self.limits.idle_timeout and (segments is not None or not self.online):
            self.note(f"closed: idle for {idle:.0f} s (no packet, stream or TCP keepalive; --idle-timeout "
                      f"{self.limits.idle_timeout:g})")
            self.abort()
            return
        self.timer = self.loop.call_later(max(0.05, self.last_activity + self.limits.idle_timeout - now), self._check_time)

    # -- output with back-pressure
    async def send(self, command: int, arg0: int, arg1: int, data: bytes = b"") -> None:
        # One event-loop thread: a packet is written whole, so no lock; drain only under pressure.
        self.writer.write(P.pack(command, arg0, arg1, data))
        if self.writer.transport.get_write_buffer_size() > self.limits.write_buffer_bytes:
            await self.drain()

    async def drain(self) -> None:
        """Wait until the client reads; a client that stops reading for the idle timeout is dropped."""
        async with self.drain_lock:  # Python 3.9 allows one drain() waiter at a time
            try:
                await asyncio.wait_for(self.writer.drain(), self.limits.idle_timeout)
            except asyncio.TimeoutError:
                self.note(f"closed: the client read none of our answers for {self.limits.idle_timeout:g} s")
                self.abort()
                raise ConnectionResetError("client stopped reading") from None

    def abort(self) -> None:
        """Drop the TCP connection the hard way (fault `drop`, time limits, shutdown)."""
        transport = self.writer.transport
        if transport is not None:
            transport.abort()

    # -- the packet loop
    async def run(self) -> None:
        from rknn_envcheck.emulator.services import open_service

        faults = self.state.faults
        async for command, arg0, arg1, data in P.packets(self.reader):
            self.last_activity = self.loop.time()
            if command == P.A_CNXN:
                self.greeted = True
                self.max_payload = max(256, min(arg1 or self.max_payload, self.state.profile.max_payload))
                if faults.has("offline"):
                    continue  # never answer: the adb server keeps the board `offline`
                if faults.has("unauthorized"):
                    await self.send(P.A_AUTH, P.AUTH_TOKEN, 0, _token())
                    continue
                self.online = True
                profile = self.state.profile
                await self.send(P.A_CNXN, profile.protocol_version, profile.max_payload, profile.banner())
            elif command == P.A_AUTH:
                if arg0 == P.AUTH_SIGNATURE:
                    await self.send(P.A_AUTH, P.AUTH_TOKEN, 0, _token())  # never accept a key
            elif not self.online:
                continue
            elif command == P.A_OPEN:
                if len(self.streams) >= self.limits.streams_per_connection:
                    self.note(f"refused a stream: {len(self.streams)} open (--streams-per-connection)")
                    await self.send(P.A_CLSE, 0, arg0)
                else:
                    await open_service(self, arg0, data.rstrip(b"\x00").decode("utf-8", "replace"))
            elif command == P.A_OKAY:
                stream = self.streams.get(arg1)
                if stream is not None:
                    stream.acked.set()
            elif command == P.A_WRTE:
                stream = self.streams.get(arg1)
                if stream is not None and stream.feed(data):
                    await self.send(P.A_OKAY, arg1, arg0)
            elif command == P.A_CLSE:
                stream = self.streams.pop(arg1, None)
                if stream is not None and not stream.closed:
                    stream.host_closed()
                    await self.send(P.A_CLSE, arg1, arg0)
                    if stream.task is not None:
                        stream.task.cancel()
            if self.writer.transport.get_write_buffer_size() > self.limits.write_buffer_bytes:
                await self.drain()  # stop reading until the client reads what we owe it

    def start_task(self, stream: Stream, coro) -> None:
        self.streams[stream.local_id] = stream
        stream.task = asyncio.ensure_future(self._guard(stream, coro))

    async def _guard(self, stream: Stream, coro) -> None:
        try:
            await coro
        except (StreamClosed, asyncio.CancelledError, ConnectionError, asyncio.TimeoutError):
            pass
        except Exception as exc:  # noqa: BLE001 - one log line for the connection, and the stream ends
            self.note(f"a stream failed: {type(exc).__name__}: {exc}"[:300])
            try:
                await stream.close()
            except (ConnectionError, StreamClosed):
                pass

    def finish(self) -> None:
        self.timer.cancel()
        for stream in list(self.streams.values()):
            stream.host_closed()
            if stream.task is not None:
                stream.task.cancel()


def _token() -> bytes:
    return os.urandom(20)  # AUTH TOKEN: random, never accepted (fault `unauthorized`)
