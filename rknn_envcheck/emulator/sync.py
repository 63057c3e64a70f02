"""The `sync:` service (adb pull/push/ls, adbutils sync): STAT LIST RECV SEND QUIT (+ STA2/LST2 with stat_v2).

Requests arrive as a byte stream that can be split or merged across WRTE packets, so the
stream is read with read_exact and never assumed to carry one request per packet.
"""
from __future__ import annotations

import stat as st
import struct

from rknn_envcheck.emulator.board import BoardState
from rknn_envcheck.emulator.vfs import StorageFull

SYNC_DATA_MAX = 64 * 1024
_STAT_V2 = struct.Struct("<IQQIIIIQqqq")  # error dev ino mode nlink uid gid size atime mtime ctime (68 bytes)


def _mode(node) -> int:
    return (st.S_IFDIR if node.kind == "dir" else st.S_IFREG) | node.mode


async def run_sync(stream, state: BoardState) -> None:
    stat_v2 = "stat_v2" in state.profile.features
    while True:
        header = await stream.read_exact(8)
        request, length = header[:4], struct.unpack("<I", header[4:])[0]
        if request == b"QUIT":
            await stream.close()
            return
        if length > 4096:
            await _fail(stream, f"path too long ({length} bytes)")
            return
        path = (await stream.read_exact(length)).decode("utf-8", "replace")
        if request == b"STAT":
            node = state.fs.get(path)
            values = (0, 0, 0) if node is None else (_mode(node), node.length, node.mtime)
            await stream.write(b"STAT" + struct.pack("<3I", *values))
        elif request in (b"STA2", b"LST2") and stat_v2:
            node = state.fs.get(path)
            if node is None:
                reply = _STAT_V2.pack(2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            else:
                reply = _STAT_V2.pack(0, 2049, abs(hash(path)) % 100000, _mode(node), 1, 0, 0, node.length,
                                      node.mtime, node.mtime, node.mtime)
            await stream.write(request + reply)
        elif request == b"LIST":
            out = b""
            for name in state.fs.listdir(path) if state.fs.get(path) is not None else []:
                node = state.fs.get(path.rstrip("/") + "/" + name)
                raw = name.encode()
                out += b"DENT" + struct.pack("<4I", _mode(node), node.length, node.mtime, len(raw)) + raw
            await stream.write(out + b"DONE" + b"\x00" * 16)
        elif request == b"RECV":
            node = state.fs.get(path)
            if node is None or node.kind != "file":
                await _fail(stream, "No such file or directory" if node is None else "Is a directory")
                continue
            data = node.content()
            out = bytearray()
            for i in range(0, len(data), SYNC_DATA_MAX):
                chunk = data[i:i + SYNC_DATA_MAX]
                out += b"DATA" + struct.pack("<I", len(chunk)) + chunk
                if len(out) >= 16 * SYNC_DATA_MAX:  # a big file goes out in 1 MiB pieces, not one copy
                    await stream.write(bytes(out))
                    out.clear()
            await stream.write(bytes(out) + b"DONE" + struct.pack("<I", 0))
        elif request == b"SEND":
            target, _, mode = path.rpartition(",")
            content = bytearray()
            limit = state.limits.sync_file_bytes
            while True:
                chunk_header = await stream.read_exact(8)
                kind, size = chunk_header[:4], struct.unpack("<I", chunk_header[4:])[0]
                if kind == b"DONE":
                    break
                if kind != b"DATA" or size > SYNC_DATA_MAX:
                    await _fail(stream, f"unexpected {kind!r} of {size} bytes in SEND" if kind != b"DATA" else
                                f"DATA chunk of {size} bytes (adb sends at most {SYNC_DATA_MAX})")
                    return
                if len(content) + size > limit:
                    # adbd answers a failed write with FAIL and ends the sync session
                    await _fail(stream, f"{target or path}: file too large: the emulated board takes at most "
                                        f"{limit} bytes per file (--sync-file-cap)")
                    stream.conn.note(f"refused a push larger than {limit} bytes")
                    return
                content += await stream.read_exact(size)
            try:
                file_mode = int(mode) & 0o7777 if mode else 0o644
            except ValueError:
                file_mode = 0o644
            try:
                with state.lock:
                    state.fs.write(target or path, bytes(content), mode=file_mode)
            except StorageFull as exc:
                await _fail(stream, f"{target or path}: {exc}")
                return
            await stream.write(b"OKAY" + struct.pack("<I", 0))
        else:
            await _fail(stream, f"unknown sync request {request!r}")
            return


async def _fail(stream, message: str) -> None:
    raw = message.encode()
    await stream.write(b"FAIL" + struct.pack("<I", len(raw)) + raw)
