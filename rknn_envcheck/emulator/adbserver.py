"""A private, throw-away adb server: never the user's 5037, never the user's ~/.android.

`adb -L tcp:PORT server nodaemon` as a child process with its own HOME/TMPDIR and with mDNS, USB
and emulator-port scanning off (shared/reference/adb-emulation.md §6). Used by the tests, the
benchmark and `rknn-envcheck emulator demo`.
"""
from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from typing import Optional

from rknn_envcheck.errors import UsageError


def find_adb() -> Optional[str]:
    """env ADBUTILS_ADB_PATH, then the adb bundled in the adbutils wheel, then `adb` on PATH."""
    env = os.environ.get("ADBUTILS_ADB_PATH")
    if env and os.path.isfile(env) and os.access(env, os.X_OK):
        return env
    try:
        import adbutils  # imported here: heavy, and only needed when an adb server is wanted

        bundled = os.path.join(os.path.dirname(adbutils.__file__), "binaries", "adb")
        if os.path.isfile(bundled) and os.access(bundled, os.X_OK):
            return bundled
    except ImportError:
        pass
    return shutil.which("adb")


def free_port() -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if not 5555 <= port <= 5585 and port != 5037:
            return port


class PrivateAdbServer:
    def __init__(self, adb_path: Optional[str] = None, port: Optional[int] = None):
        self.adb = adb_path or find_adb()
        if self.adb is None:
            raise UsageError("no adb binary found: install the adbutils wheel (`pip install adbutils`, it bundles adb on x86_64 Linux), "
                             "or `apt-get install adb`, or set ADBUTILS_ADB_PATH=/path/to/adb")
        self.port = port or free_port()
        self.home = tempfile.mkdtemp(prefix="rknn-envcheck-adb-")
        self.env = dict(os.environ, HOME=self.home, TMPDIR=self.home, ADB_MDNS="0", ADB_USB="0", ADB_EMU="0",
                        ANDROID_ADB_SERVER_PORT=str(self.port), ANDROID_ADB_LOG_PATH=os.path.join(self.home, "adb.log"))
        self.env.pop("ADB_VENDOR_KEYS", None)
        self.process: Optional[subprocess.Popen] = None
        self._owner = os.getpid()  # a forked child must never stop (or delete the HOME of) our server

    def start(self, timeout: float = 10.0) -> "PrivateAdbServer":
        with open(os.path.join(self.home, "server.stderr"), "wb") as log:
            # own session: a terminal's Ctrl-C does not hit it before we stop it ourselves, and
            # stop() can signal the whole group
            self.process = subprocess.Popen([self.adb, "-L", f"tcp:{self.port}", "server", "nodaemon"], env=self.env,
                                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                                            start_new_session=True)
        atexit.register(self.stop)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"adb server exited with {self.process.returncode}: {self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"adb server did not listen on {self.port} within {timeout} s: {self.log_tail()}")

    def log_tail(self) -> str:
        try:
            with open(os.path.join(self.home, "server.stderr"), "rb") as fh:
                return fh.read()[-2000:].decode("utf-8", "replace")
        except OSError:
            return ""

    def run(self, *args: str, timeout: float = 20.0) -> subprocess.CompletedProcess:
        """`adb -P PORT ARGS...` against this server, with the isolated environment."""
        return subprocess.run([self.adb, "-P", str(self.port), *args], env=self.env, capture_output=True,
                              text=True, timeout=timeout)

    def client(self):
        import adbutils

        return adbutils.AdbClient(host="127.0.0.1", port=self.port)

    def host_request(self, request: str, timeout: float = 5.0) -> str:
        """One smart-socket `host:` request, answered OKAY/FAIL + hex length + text.

        Raw socket on purpose: adbutils would run `adb start-server` (a daemon with the user's
        HOME) if this server were already gone, e.g. in a late test teardown.
        """
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            data = request.encode()
            sock.sendall(b"%04x" % len(data) + data)
            reply = b""
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                reply += chunk
                if len(reply) >= 8 and len(reply) >= 8 + int(reply[4:8], 16):
                    break
        status, text = reply[:4], reply[8:8 + int(reply[4:8] or b"0", 16)].decode("utf-8", "replace")
        if status != b"OKAY":
            raise RuntimeError(f"adb server: {request}: {text or reply!r}")
        return text

    def connect(self, address: str, timeout: float = 5.0) -> str:
        """`adb connect`; the answer is text only (the CLI exits 0 either way), so it is returned.

        A board that never answers the handshake (fault `offline`) raises TimeoutError.
        """
        try:
            return self.host_request(f"host:connect:{address}", timeout)
        except socket.timeout:
            raise TimeoutError(f"adb connect {address}: no answer within {timeout:g} s") from None

    def disconnect(self, address: str) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            self.host_request(f"host:disconnect:{address}", 5.0)
        except (OSError, RuntimeError):  # the entry may already be gone; teardown must not fail
            pass

    def stop(self) -> None:
        if os.getpid() != self._owner:
            return
        if self.process is not None and self.process.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.process.wait(5)
        self.process = None
        shutil.rmtree(self.home, ignore_errors=True)

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.process.pid, sig)
        except (ProcessLookupError, PermissionError):
            self.process.send_signal(sig)

    def __enter__(self) -> "PrivateAdbServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
