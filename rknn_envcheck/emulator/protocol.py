"""ADB wire format, device side: 24-byte header (six little-endian u32) + payload.

See shared/reference/adb-emulation.md §1: data_check is the byte sum of the payload (not CRC32),
magic = command ^ 0xffffffff. Hosts do not verify device checksums, but we send correct ones.
"""
from __future__ import annotations

import asyncio
import struct

A_CNXN = 0x4E584E43
A_AUTH = 0x48545541
A_OPEN = 0x4E45504F
A_OKAY = 0x59414B4F
A_WRTE = 0x45545257
A_CLSE = 0x45534C43
NAMES = {A_CNXN: "CNXN", A_AUTH: "AUTH", A_OPEN: "OPEN", A_OKAY: "OKAY", A_WRTE: "WRTE", A_CLSE: "CLSE"}

AUTH_TOKEN, AUTH_SIGNATURE, AUTH_RSAPUBLICKEY = 1, 2, 3
# adb hosts never send more than min(own, device) max payload, and a device announces at most
# 1 MiB (MAX_PAYLOAD of modern adbd): anything bigger is not an adb host and closes the connection.
MAX_HOST_PAYLOAD = 1024 * 1024

HEADER = struct.Struct("<6I")


class ProtocolError(Exception):
    pass


def checksum(data: bytes) -> int:
    return sum(data) & 0xFFFFFFFF


def pack(command: int, arg0: int, arg1: int, data: bytes = b"") -> bytes:
    return HEADER.pack(command, arg0, arg1, len(data), checksum(data), command ^ 0xFFFFFFFF) + data


async def packets(reader: asyncio.StreamReader):
    """Packets from a connection, parsed out of large reads (one await per TCP read, not two per packet)."""
    buf = bytearray()
    while True:
        data = await reader.read(1 << 16)
        if not data:
            raise asyncio.IncompleteReadError(bytes(buf), None)
        buf += data
        while len(buf) >= HEADER.size:
            command, arg0, arg1, length, _check, magic = HEADER.unpack_from(buf)
            if magic != command ^ 0xFFFFFFFF:
                raise ProtocolError(f"bad magic {magic:#x} for command {command:#x}")
            if length > MAX_HOST_PAYLOAD:
                raise ProtocolError(f"payload of {length} bytes is too large")
            end = HEADER.size + length
            if len(buf) < end:
                break
            data = bytes(buf[HEADER.size:end])
            del buf[:end]
            yield command, arg0, arg1, data


# shell protocol v2 packet ids
SHELL_STDIN, SHELL_STDOUT, SHELL_STDERR, SHELL_EXIT, SHELL_CLOSE_STDIN, SHELL_WINDOW = 0, 1, 2, 3, 4, 5


def shell_packet(packet_id: int, data: bytes) -> bytes:
    return struct.pack("<BI", packet_id, len(data)) + data
