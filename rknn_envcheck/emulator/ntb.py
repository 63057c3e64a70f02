"""What the host sees of an RK1808 compute stick in NTB mode: the `npu_transfer_proxy` program.

A fake `npu_transfer_proxy` (a small Python script in a temp dir) that answers `devices` with the
listing format of the real one (toolkit1.md §4.3: header, then `%-20s%-12x%s` rows) and, run with
no arguments, stays alive as a process psutil names `npu_transfer_proxy`.
"""
from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import List, Optional, Tuple

DEFAULT_DEVICES = [("TB-RK1808S0", 0x2BED0CC1, "USB_DEVICE")]
# host build of the proxy shipped with toolkit 1.6.1-1.7.5 (x86_64 timestamp, toolkit1.md §4.3)
TRANSFER_VERSION = "2.1.0 (b5861e7@2020-11-23T11:50:36)"

_SCRIPT = '''#!{python}
# Fake npu_transfer_proxy written by rknn-envcheck's emulator (rknn_envcheck/emulator/ntb.py).
import os, signal, sys, time
DEVICES = {devices!r}
if sys.argv[1:2] == ["devices"]:
    print("List of ntb devices attached")
    for serial, devid, kind in DEVICES:
        print("%-20s%-12x%s" % (serial, devid, kind))
    sys.exit(0)
if "--resident" not in sys.argv:
    # re-exec so that argv[0] is the program name psutil reports (comm is set below)
    os.execv(sys.executable, ["npu_transfer_proxy", os.path.abspath(__file__), "--resident"])
try:
    import ctypes
    ctypes.CDLL(None).prctl(15, b"npu_transfer_pr", 0, 0, 0)  # PR_SET_NAME; comm holds 15 chars
except Exception:
    pass
sys.stderr.write("I NPUTransfer: Starting NPU Transfer Proxy, Transfer version {version}, devid = 0123456789ABCDEF, pid = %d:%d\\n" % (os.getpid(), os.getppid()))
sys.stderr.flush()
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
while True:
    time.sleep(3600)
'''


class FakeNtbProxy:
    """Write the fake proxy; optionally run it resident. Use `path_env()` or `bin_dir` for PATH."""

    def __init__(self, devices: Optional[List[Tuple[str, int, str]]] = None, version: str = TRANSFER_VERSION):
        self.devices = list(DEFAULT_DEVICES if devices is None else devices)
        self.bin_dir = tempfile.mkdtemp(prefix="rknn-envcheck-ntb-")
        self.path = os.path.join(self.bin_dir, "npu_transfer_proxy")
        with open(self.path, "w") as fh:
            fh.write(_SCRIPT.format(python=sys.executable, devices=self.devices, version=version))
        os.chmod(self.path, 0o755)
        self.process: Optional[subprocess.Popen] = None

    def path_env(self, env: Optional[dict] = None) -> dict:
        env = dict(os.environ if env is None else env)
        env["PATH"] = self.bin_dir + os.pathsep + env.get("PATH", "")
        return env

    def start(self) -> int:
        """Run it with no arguments (as the toolkit does); return the pid once it is renamed."""
        for attempt in range(50):
            try:
                self.process = subprocess.Popen([self.path], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                                stderr=subprocess.PIPE)
                break
            except OSError as exc:
                # ETXTBSY: a process forked by another thread while the script was open for
                # writing still holds that descriptor for a moment; running it then fails.
                if exc.errno != errno.ETXTBSY or attempt == 49:
                    raise
                time.sleep(0.02)
        line = self.process.stderr.readline()  # printed after the rename: the process is ready
        if not line:
            raise RuntimeError(f"fake npu_transfer_proxy exited with {self.process.wait()} before starting")
        return self.process.pid

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()
        self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.bin_dir, ignore_errors=True)

    def __enter__(self) -> "FakeNtbProxy":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
