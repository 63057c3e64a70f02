"""Boards over ADB: adbutils against the adb server at ANDROID_ADB_SERVER_HOST/PORT (or
--adb-host/--adb-port), as `adb -H/-P` would use. Never kills or restarts the user's server;
starts one only when none runs and the caller's policy allows it (gather.adb_start_decision:
the doctor only when USB shows a Rockchip board in ADB mode). Every call has an explicit
timeout (adbutils' default is 600 s)."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
from rknn_envcheck.records import dataclass, field

from rknn_envcheck.boards.base import BoardError, ShellResult

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5037


@dataclass
class AdbEndpoint:
    host: str
    port: int
    how: str


@dataclass
class AdbListing:
    endpoint: AdbEndpoint
    running: bool
    devices: list[dict] = field(default_factory=list)
    server_version: int | None = None
    started: str | None = None  # what we did to start a server, if we did
    binary: str | None = None
    error: str | None = None


def _adbutils_version() -> str:
    """adbutils' version from its dist-info directory name (what importlib.metadata would find),
    or "0.0.0" as adbutils itself answers when the metadata is missing."""
    import importlib.util
    import os

    spec = importlib.util.find_spec("adbutils")
    for location in (spec.submodule_search_locations or []) if spec else []:
        parent = os.path.dirname(location)
        for name in os.listdir(parent):
            if name.startswith("adbutils-") and name.endswith(".dist-info"):
                return name[len("adbutils-"):-len(".dist-info")]
    return "0.0.0"


def load_adbutils():
    """Import adbutils without the parts rknn-envcheck never calls.

    The doctor's whole budget is ~1.5x the host check, and a plain `import adbutils` costs
    ~100 ms: its APK installer pulls in `requests` (~55 ms), screenshots pull in Pillow (~9 ms)
    and its version lookup imports importlib.metadata (~14 ms). While adbutils is first imported,
    stand-ins are registered for those names only if nothing has imported them yet; the Pillow
    stand-ins are removed again right after, so a later real `import PIL` is unaffected. Calling
    AdbDevice.install() or screenshot() would then fail loudly; neither is used here.
    """
    import sys
    import types

    if "adbutils" in sys.modules:
        return sys.modules["adbutils"]
    env_port()  # a bad $ANDROID_ADB_SERVER_PORT: one line and exit 2, not adbutils' traceback

    class _Unavailable:
        def __init__(self, *args, **kwargs):
            raise RuntimeError("rknn-envcheck loads adbutils without its APK installer and screenshot support")

    stand_ins = {
        "adbutils.install": {"InstallExtension": type("InstallExtension", (), {})},
        "adbutils._version": {"__version__": _adbutils_version()},
        "PIL": {},
        "PIL.Image": {"Image": _Unavailable, "open": _Unavailable},
    }
    added = []
    for name, attributes in stand_ins.items():
        if name in sys.modules:
            continue
        module = types.ModuleType(name)
        module.__dict__.update(attributes)
        sys.modules[name] = module
        added.append(name)
    if "PIL.Image" in added:
        sys.modules["PIL"].Image = sys.modules["PIL.Image"]
        sys.modules["PIL"].UnidentifiedImageError = type("UnidentifiedImageError", (OSError,), {})
    try:
        import adbutils
    except Exception:  # noqa: BLE001 - another adbutils release needs more than the stand-ins give
        for name in [n for n in list(sys.modules) if n == "adbutils" or n.startswith("adbutils.")] + added:
            sys.modules.pop(name, None)
        added = []
        import adbutils  # the plain, slower import
    finally:
        for name in ("PIL.Image", "PIL"):
            if name in added:
                del sys.modules[name]
    return adbutils


def env_port() -> int | None:
    """$ANDROID_ADB_SERVER_PORT as adb reads it: unset = None; set, it must be a number 1-65535
    (adb itself refuses "" and "abc" too). Checked before adbutils is imported, whose import
    calls int() on it and would end the run with a traceback."""
    value = os.environ.get("ANDROID_ADB_SERVER_PORT")
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit() and 0 < int(text) < 65536:
        return int(text)
    from rknn_envcheck.errors import UsageError
    from rknn_envcheck.inputlimits import MAX_SHOWN, cut

    raise UsageError(f"environment variable ANDROID_ADB_SERVER_PORT={cut(repr(value), MAX_SHOWN)} is not a TCP port number (1-65535), "
                     "as adb also requires; unset it (unset ANDROID_ADB_SERVER_PORT) or set it to the adb server's port, e.g. 5037")


def endpoint(host: str | None = None, port: int | None = None) -> AdbEndpoint:
    env_host = os.environ.get("ANDROID_ADB_SERVER_HOST")
    port_from_env = env_port()
    how = []
    if host:
        how.append("--adb-host")
    elif env_host:
        host = env_host
        how.append("ANDROID_ADB_SERVER_HOST")
    if port is not None:
        how.append("--adb-port")
    elif port_from_env is not None:
        port = port_from_env
        how.append("ANDROID_ADB_SERVER_PORT")
    port = DEFAULT_PORT if port is None else port
    if not 0 < port < 65536:
        from rknn_envcheck.errors import UsageError

        raise UsageError(f"adb server port {port} ({', '.join(how)}) is not a TCP port number (1-65535)")
    return AdbEndpoint(host or DEFAULT_HOST, port, ", ".join(how) or "default 127.0.0.1:5037")


def adb_binary() -> str | None:
    """Which adb we would run: ADBUTILS_ADB_PATH, then `adb` on PATH, then the one in the adbutils wheel."""
    explicit = os.environ.get("ADBUTILS_ADB_PATH")
    if explicit and os.access(explicit, os.X_OK):
        return explicit
    on_path = shutil.which("adb")
    if on_path:
        return on_path
    try:
        bundled = load_adbutils().adb_path()
        return bundled if bundled and os.access(bundled, os.X_OK) else None
    except Exception:  # noqa: BLE001 - no adbutils binary on this platform
        return None


def server_listening(ep: AdbEndpoint, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((ep.host, ep.port), timeout=timeout):
            return True
    except OSError:
        return False


def start_server(ep: AdbEndpoint, timeout: float = 20.0) -> tuple[bool, str, str | None]:
    """Start an adb server on ep.port (local hosts only). (ok, message, binary)."""
    if ep.host not in ("127.0.0.1", "localhost", "::1"):
        return False, f"no adb server answers at {ep.host}:{ep.port}, and a server on another machine cannot be started from here", None
    binary = adb_binary()
    if not binary:
        return False, "no adb server is running and no adb binary was found (install it: sudo apt-get install adb)", None
    try:
        proc = subprocess.run([binary, "-P", str(ep.port), "start-server"], capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"starting the adb server with {binary} failed: {exc}", binary
    if proc.returncode != 0:
        return False, f"`{binary} -P {ep.port} start-server` failed: {proc.stderr.decode(errors='replace').strip()[:200]}", binary
    return True, f"started an adb server on port {ep.port} with {binary}", binary


def list_boards(ep: AdbEndpoint, timeout: float = 5.0, allow_start: bool = True, running: bool | None = None) -> AdbListing:
    """The boards the server lists. `running`: whether a server already listens (None = look);
    when none does, one is started only if `allow_start` (the caller's start policy)."""
    listing = AdbListing(endpoint=ep, running=server_listening(ep) if running is None else running)
    if not listing.running:
        if not allow_start:
            listing.error = f"no adb server at {ep.host}:{ep.port} (and --no-start-server was given)"
            return listing
        ok, message, binary = start_server(ep)
        listing.binary = binary
        if not ok:
            listing.error = message
            return listing
        listing.started = message
        listing.running = True
    adbutils = load_adbutils()
    client = adbutils.AdbClient(host=ep.host, port=ep.port, socket_timeout=timeout)
    try:
        if listing.started:
            # Say which server we started (issue 6); for the user's own server every extra
            # connection costs adbutils' 10 ms close delay on the doctor's critical path.
            listing.server_version = client.server_version()
        for info in client.list(extended=True):
            tags = dict(info.tags or {})
            listing.devices.append({"serial": info.serial, "state": info.state, "transport_id": _int(tags.get("transport_id")), "tags": tags})
    except Exception as exc:  # noqa: BLE001 - adbutils raises several unrelated types
        listing.error = f"the adb server at {ep.host}:{ep.port} did not answer `devices -l`: {type(exc).__name__}: {exc}"
    return listing


def _int(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


class AdbSession:
    """One board behind the adb server, addressed by transport id when known (half the latency
    of a serial: adb-emulation.md §4 quirk 1)."""

    transport = "adb"

    def __init__(self, ep: AdbEndpoint, serial: str, transport_id: int | None = None, connect_timeout: float = 5.0):
        adbutils = load_adbutils()

        self.serial = serial
        self.transport_id = transport_id
        self._client = adbutils.AdbClient(host=ep.host, port=ep.port, socket_timeout=connect_timeout)
        self._device = self._client.device(transport_id=transport_id) if transport_id else self._client.device(serial=serial)
        self.commands = 0

    def shell(self, command: str, timeout: float) -> ShellResult:
        adbutils = load_adbutils()
        self.commands += 1
        try:
            features = set((self._device.get_features() or "").split(","))
        except adbutils.AdbTimeout:
            raise BoardError("timeout", f"the board did not answer within {timeout:g}s") from None
        except (adbutils.AdbError, EOFError, OSError) as exc:
            raise BoardError(_kind(exc), f"adb: {exc}") from None
        try:
            if "shell_v2" in features:
                stdout, stderr, code = _shell_v2_capped(self._device, command, timeout)
            else:
                stdout, stderr, code = _shell_v1_capped(self._device, command, timeout)
        except (adbutils.AdbTimeout, socket.timeout):
            raise BoardError("timeout", f"the board did not finish the probe within {timeout:g}s (hung?)") from None
        except EOFError:
            raise BoardError("disconnected", "the board closed the connection in the middle of the probe") from None
        except adbutils.AdbError as exc:
            raise BoardError(_kind(exc), f"adb: {exc.args[0] if exc.args else exc}") from None
        except OSError as exc:
            raise BoardError("disconnected", f"adb connection failed: {exc}") from None
        return ShellResult(stdout.decode("utf-8", "replace"), stderr.decode("utf-8", "replace"), code)


# The most a board may answer to one probe command (stdout + stderr). The probe's answer is a few
# KB; a board (or anything speaking adb) that sends more is cut off here instead of filling memory
# — adbutils' own readers keep everything, and join it quadratically.
MAX_BOARD_OUTPUT = 16 << 20
_V1_EXIT_MARK = b"X4EXIT:"


class _Deadline:
    """One wall-clock budget for a whole command: a board trickling a byte per socket timeout
    cannot hold the run longer than `timeout` seconds."""

    def __init__(self, timeout: float):
        import time

        self._now = time.monotonic
        self.end = self._now() + timeout

    def recv(self, conn, size: int) -> bytes:
        left = self.end - self._now()
        if left <= 0:
            raise socket.timeout("deadline")
        conn.settimeout(left)
        return conn.recv(size)


def _too_large(total: int) -> BoardError:
    return BoardError("protocol", f"the board's answer exceeded {MAX_BOARD_OUTPUT >> 20} MiB ({total} bytes read, then stopped); "
                                  "a probe answer is a few KB — something on the board printed far more than asked")


def _read_exact(deadline: _Deadline, conn, size: int) -> bytes:
    parts, got = [], 0
    while got < size:
        chunk = deadline.recv(conn, min(size - got, 1 << 16))
        if not chunk:
            raise EOFError(f"expected {size} bytes, got {got}")
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _shell_v2_capped(device, command: str, timeout: float) -> tuple[bytes, bytes, int | None]:
    """adb's shell v2 protocol (5-byte header: id, u32 LE length): stdout (1), stderr (2), exit (3)."""
    deadline = _Deadline(timeout)
    c = device.open_transport(timeout=timeout)
    try:
        c.send_command(f"shell,v2:{command}")
        c.check_okay()
        out, err, total = [], [], 0
        while True:
            header = _read_exact(deadline, c.conn, 5)
            length = int.from_bytes(header[1:5], "little")
            if total + length > MAX_BOARD_OUTPUT:
                raise _too_large(total)
            data = _read_exact(deadline, c.conn, length) if length else b""
            total += length
            if header[0] == 1:
                out.append(data)
            elif header[0] == 2:
                err.append(data)
            elif header[0] == 3:
                return b"".join(out), b"".join(err), data[0] if data else None
    finally:
        c.close()


def _shell_v1_capped(device, command: str, timeout: float) -> tuple[bytes, bytes, int | None]:
    """shell v1 has no exit status or stderr channel: the status is echoed after a marker."""
    deadline = _Deadline(timeout)
    c = device.open_transport(timeout=timeout)
    try:
        c.send_command(f"shell:{command}; echo {_V1_EXIT_MARK.decode()}$?")
        c.check_okay()
        parts, total = [], 0
        while True:
            chunk = deadline.recv(c.conn, 1 << 16)
            if not chunk:
                break
            total += len(chunk)
            if total > MAX_BOARD_OUTPUT + 64:
                raise _too_large(total)
            parts.append(chunk)
    finally:
        c.close()
    output = b"".join(parts)
    mark = output.rfind(_V1_EXIT_MARK)
    if mark == -1:
        from adbutils import AdbError

        raise AdbError("shell output invalid")
    code = output[mark + len(_V1_EXIT_MARK):].strip()
    return output[:mark], b"", int(code) if code.isdigit() else None


def _kind(exc) -> str:
    text = str(exc).lower()
    if "unauthorized" in text:
        return "unauthorized"
    if "offline" in text:
        return "offline"
    if "not found" in text:
        return "not-found"
    if "output invalid" in text:
        return "disconnected"
    return "protocol"
