"""The services a board answers on a stream: `shell:` / `shell,v2,...:` / `exec:` and `sync:`.

A command line that may run on the event loop (workers.runs_in_process) is answered in one write,
with no task; any other runs in a shell worker process from the stream's own task, so the packet
loop keeps serving the connection's other streams meanwhile.
"""
from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from rknn_envcheck.emulator import protocol as P
from rknn_envcheck.emulator.board import cut_stdout, to_crlf
from rknn_envcheck.emulator.connection import Stream
from rknn_envcheck.emulator.sync import run_sync

if TYPE_CHECKING:
    from rknn_envcheck.emulator.connection import Connection


async def open_service(conn: "Connection", remote_id: int, service: str) -> None:
    state = conn.state
    head, _, command = service.partition(":")
    name, *options = head.split(",")
    if name not in ("shell", "exec", "sync"):
        await conn.send(P.A_CLSE, 0, remote_id)  # refused: the client prints `error: closed`
        return
    stream = Stream(conn, conn.next_id, remote_id)
    conn.next_id += 1
    if name == "sync":
        state.count("sync_sessions")
        stream.reads = True
        await conn.send(P.A_OKAY, stream.local_id, remote_id)
        conn.start_task(stream, _sync(stream, state))
        return
    state.count("round_trips")
    v2 = name == "shell" and "v2" in options
    pty = "pty" in options or (name == "shell" and not command and "raw" not in options)
    crlf = pty or (name == "shell" and not v2 and state.profile.crlf)
    faults = state.faults
    result = None
    if command.strip() and not (faults.has("hang") or faults.has("drop") or faults.slow_seconds):
        result = conn.runner.execute_now(state, command)
        if result is not None:
            _note(conn, result)
            if _answer_at_once(conn, stream, result, v2, pty, crlf):
                return
    stream.reads = not command.strip() and pty  # the interactive prompt reads the keyboard
    await conn.send(P.A_OKAY, stream.local_id, remote_id)
    conn.start_task(stream, _shell(conn, stream, command, result, v2, pty, crlf))


async def _sync(stream: Stream, state) -> None:
    await run_sync(stream, state)
    await stream.close()  # after QUIT or a FAIL: an open stream would keep the connection from idling


def _note(conn: "Connection", result) -> None:
    if result.problem:
        conn.note(result.problem)


def _answer_at_once(conn: "Connection", stream: Stream, result, v2: bool, pty: bool, crlf: bool) -> bool:
    """OKAY + one WRTE + CLSE in a single write when the answer is short and immediate.

    The common case (every probe query): no task, no waiting. The WRTE may precede the
    host's OKAY of it because nothing but CLSE follows it on this stream.
    """
    if result.delay:
        return False
    body = render(result.events, v2, pty, crlf)
    if v2:
        body += P.shell_packet(P.SHELL_EXIT, bytes([result.status & 0xFF]))
    if len(body) > conn.max_payload:
        return False
    local, remote = stream.local_id, stream.remote_id
    packets = P.pack(P.A_OKAY, local, remote)
    if body:
        packets += P.pack(P.A_WRTE, local, remote, body)
    conn.writer.write(packets + P.pack(P.A_CLSE, local, remote))  # the packet loop drains under pressure
    return True


def render(events, v2: bool, pty: bool, crlf: bool) -> bytes:
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


async def _shell(conn: "Connection", stream: Stream, command: str, result, v2: bool, pty: bool, crlf: bool) -> None:
    state, faults = conn.state, conn.state.faults
    if not command.strip() and pty and not faults.has("hang"):
        await _interactive(conn, stream, v2)
        return
    if faults.has("hang"):
        await asyncio.Event().wait()  # accepted, never answered; the host's CLSE cancels us
    if faults.slow_seconds:
        await asyncio.sleep(faults.slow_seconds)
    if result is None:
        async with conn.slots:  # bounds the answers one connection holds while its client does not read
            result = await conn.runner.execute(state, command, conn)
            _note(conn, result)
            await _deliver(conn, stream, result, v2, pty, crlf)
        return
    await _deliver(conn, stream, result, v2, pty, crlf)


async def _deliver(conn: "Connection", stream: Stream, result, v2: bool, pty: bool, crlf: bool) -> None:
    faults = conn.state.faults
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
            pending += render([event], v2, pty, crlf)
    if faults.has("drop"):
        if pending:
            await stream.write(bytes(pending))
        await asyncio.sleep(0.05)
        conn.abort()
        return
    if v2:
        pending += P.shell_packet(P.SHELL_EXIT, bytes([result.status & 0xFF]))
    if pending:
        await stream.write(bytes(pending))
    await stream.close()


async def _interactive(conn: "Connection", stream: Stream, v2: bool) -> None:
    """`adb shell` with no command: a line-editing prompt (the terminal is raw, so we echo)."""
    state = conn.state
    prompt = b"# " if state.profile.user == "root" else b"$ "
    max_line = 64 * 1024  # a line longer than this is cut: nobody types it, and it is held in memory

    async def out(data: bytes) -> None:
        await stream.write(P.shell_packet(P.SHELL_STDOUT, data) if v2 else data)

    async def next_input() -> bytes:
        if not v2:
            return await stream.read_exact(1)
        while True:
            header = await stream.read_exact(5)
            length = int.from_bytes(header[1:], "little")
            if length > stream.room:
                raise P.ProtocolError(f"shell protocol packet of {length} bytes")
            data = await stream.read_exact(length)
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
                    state.count("round_trips")
                    result = await conn.runner.execute(state, text, conn)
                    _note(conn, result)
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
            elif byte >= 0x20 and len(line) < max_line:
                line += char
                await out(char)
        if status < 0:
            break
    if v2:
        await stream.write(P.shell_packet(P.SHELL_EXIT, b"\x00"))
    await stream.close()
