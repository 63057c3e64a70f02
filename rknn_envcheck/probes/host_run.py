"""Run the host probe (probes/host_probe.py) inside another interpreter (`--python PATH`) and turn
its output into validated facts, or into a one-line UsageError that says what PATH printed.

Split out of probes/host.py (issue 13: modules stay small); probes/host.py re-exports the names.
"""
from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import threading
import time
from functools import lru_cache
from pathlib import Path

from rknn_envcheck.errors import UsageError
from rknn_envcheck.inputlimits import MAX_PROBE_BYTES, LimitError, loads

PROBE_FILE = Path(__file__).with_name("host_probe.py")
MIN_PYTHON = (3, 5)
# Keep the message short: it ends up in a one-line CLI error.
_EXCERPT = 160
_STDERR_KEPT = 64 * 1024  # the rest of a chatty stderr is read and dropped

# Parsed by Python 2 as well (exec(...) is the exec statement there), so an old interpreter says
# which version it is instead of dying on a SyntaxError somewhere in the probe.
_BOOTSTRAP = """import sys
if sys.path and sys.path[0] in ('', '.'):
    del sys.path[0]
if tuple(sys.version_info[:2]) < {min_python!r}:
    sys.stdout.write('{{"unsupported_python": "%d.%d.%d"}}\\n' % tuple(sys.version_info[:3]))
    sys.exit(0)
exec(compile({source!r}, 'rknn_envcheck_host_probe.py', 'exec'))
"""


@lru_cache(maxsize=1)
def probe_source() -> str:
    source = PROBE_FILE.read_text(encoding="utf-8")
    # The source travels as a command-line argument: ASCII keeps it intact under any locale,
    # including the C locale of Python 3.5/3.6 where argv is decoded as ASCII.
    source.encode("ascii")
    return source


@lru_cache(maxsize=1)
def probe_command_code() -> str:
    # `del sys.path[0]` in the bootstrap stops a json.py/sysconfig.py in the current directory
    # from shadowing the stdlib modules the probe imports.
    return _BOOTSTRAP.format(min_python=MIN_PYTHON, source=probe_source())


def _resolve_python(python: str, label: str | None = None) -> str:
    """An existing file path for --python, or UsageError naming what is wrong with it."""
    label = label or f"--python {python}"
    if not python.strip():
        raise UsageError("--python needs the path of a Python interpreter, e.g. --python ~/venv/bin/python")
    candidate = os.path.expanduser(python)
    if os.sep not in candidate and not (os.altsep and os.altsep in candidate):
        # A bare name is looked up on PATH, as a shell would; a file of that name in the current
        # directory is used only when PATH has none (and then by its full path, so it is what runs).
        found = shutil.which(candidate)
        if found is None and not os.path.exists(candidate):
            raise UsageError(f"{label}: no such file, and no {candidate!r} on PATH; give the interpreter's full path, e.g. ~/venv/bin/python")
        candidate = found or os.path.abspath(candidate)
    if not os.path.lexists(candidate):
        raise UsageError(f"{label}: no such file {candidate}; give the interpreter's full path, e.g. ~/venv/bin/python")
    if not os.path.exists(candidate):
        raise UsageError(f"{label}: {candidate} is a broken symlink (it points to {os.readlink(candidate)}, which does not exist); was the venv's base Python removed?")
    if os.path.isdir(candidate):
        hint = os.path.join(candidate, "Scripts" if os.name == "nt" else "bin", "python")
        raise UsageError(f"{label}: {candidate} is a directory, not an interpreter; did you mean {hint}?")
    if os.name != "nt" and not os.access(candidate, os.X_OK):
        raise UsageError(f"{label}: {candidate} is not executable by this user (permission denied); check its mode with `ls -l {candidate}`")
    return candidate


def _excerpt(text: str) -> str:
    text = " ".join(text.strip().split())
    return text if len(text) <= _EXCERPT else text[:_EXCERPT] + "…"


def _kill_tree(proc: subprocess.Popen) -> None:
    """Kill the probe and anything it started (a sitecustomize that spawns, a wrapper script)."""
    try:
        if os.name == "nt":
            proc.kill()
        else:
            os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        pass


class _ProbeProcess:
    """The probe running in another interpreter; started at once, read by result()."""

    def __init__(self, python: str, timeout: float, label: str | None = None):
        # label: how messages name the interpreter ("--python X", or why it was chosen without one)
        self.label = label or f"--python {python}"
        self.exe = _resolve_python(python, self.label)
        self.timeout = timeout
        self.started = time.perf_counter()
        try:
            self.proc = subprocess.Popen(
                [self.exe, "-c", probe_command_code()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                # Own process group so a timeout can kill grandchildren that hold the pipes open.
                start_new_session=(os.name != "nt"),
            )
        except PermissionError:
            raise UsageError(f"{self.label}: {self.exe} cannot be run by this user (permission denied)") from None
        except OSError as exc:
            if exc.errno == errno.ENOEXEC:
                raise UsageError(f"{self.label}: {self.exe} is not a program this system can run "
                                 "(exec format error: no #! line, or built for another CPU)") from None
            raise UsageError(f"{self.label}: cannot start {self.exe}: {exc.strerror or exc}") from None
        # Read from the start (the child never blocks on a full pipe while we load the matrix),
        # in chunks, keeping at most MAX_PROBE_BYTES: a child printing forever is stopped there.
        self.stdout = _PipeReader(self.proc.stdout, MAX_PROBE_BYTES, on_overflow=self.stop_quietly)
        self.stderr = _PipeReader(self.proc.stderr, _STDERR_KEPT)
        self.stdout.start()
        self.stderr.start()

    def result(self) -> dict:
        deadline = self.started + self.timeout
        for reader in (self.stdout, self.stderr):
            reader.join(timeout=max(0.05, deadline - time.perf_counter()))
        if self.stdout.overflowed:
            self.stop()
            raise UsageError(f"{self.label}: {self.exe} printed more than {MAX_PROBE_BYTES // (1024 * 1024)} MiB and was stopped; "
                             "the probe prints one JSON line — is something in that environment (sitecustomize.py, a .pth file) printing?")
        try:
            if self.stdout.is_alive() or self.stderr.is_alive():
                raise subprocess.TimeoutExpired(self.exe, self.timeout)
            self.proc.wait(timeout=max(0.05, deadline - time.perf_counter()))
        except subprocess.TimeoutExpired:
            self.stop()
            raise UsageError(f"{self.label}: {self.exe} did not answer within {self.timeout:g} s and was stopped; "
                             "is it a Python interpreter? (a hanging sitecustomize.py or .pth file also does this)") from None
        elapsed_ms = (time.perf_counter() - self.started) * 1000
        return _parse_probe_output(self.label, self.exe, self.proc.returncode, self.stdout.data(), self.stderr.data(), elapsed_ms)

    def stop_quietly(self) -> None:
        _kill_tree(self.proc)

    def stop(self) -> None:
        _kill_tree(self.proc)
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            pass
        for reader in (self.stdout, self.stderr):
            reader.join(timeout=2)


class _PipeReader(threading.Thread):
    """Reads a child's pipe to its end in chunks, keeping at most `keep` bytes."""

    def __init__(self, pipe, keep: int, on_overflow=None):
        super().__init__(name="rknn-envcheck-probe-pipe", daemon=True)
        self.pipe = pipe
        self.keep = keep
        self.on_overflow = on_overflow
        self.chunks: list[bytes] = []
        self.size = 0
        self.overflowed = False

    def run(self) -> None:
        fd = self.pipe.fileno()
        try:
            while True:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    return
                if self.size < self.keep:
                    self.chunks.append(chunk[: self.keep - self.size])
                self.size += len(chunk)
                if self.size > self.keep and self.on_overflow is not None:
                    self.overflowed = True
                    self.on_overflow()
                    return
        except OSError:
            return
        finally:
            try:
                self.pipe.close()
            except OSError:
                pass

    def data(self) -> bytes:
        return b"".join(self.chunks)


def run_probe(python: str, timeout: float = 10.0) -> dict:
    """Run host_probe inside another interpreter; return its facts or raise UsageError."""
    return _ProbeProcess(python, timeout).result()


def _parse_probe_output(label: str, exe: str, returncode: int, out: bytes, err: bytes, elapsed_ms: float) -> dict:
    text = out.decode("utf-8", "replace").strip()
    err_text = err.decode("utf-8", "replace").strip()
    last_line = text.splitlines()[-1] if text else ""
    data = None
    if last_line.startswith("{"):
        try:
            data = loads(last_line, f"{label}: the probe's output")
        except LimitError:
            raise  # well-formed but over a limit (NaN, depth, a huge integer): say which
        except UsageError:
            data = None  # not JSON (cut short, or not the probe): the messages below say what it printed
    if isinstance(data, dict) and "unsupported_python" in data:
        version = str(data["unsupported_python"])
        if version.startswith("2."):
            raise UsageError(f"{label}: {exe} is Python {version}; Python 2 is not supported (every rknn-toolkit and rknn-toolkit2 wheel is built for Python 3). "
                             "Point --python at the Python 3 interpreter of your RKNN environment.")
        raise UsageError(f"{label}: {exe} is Python {version}; the probe needs Python 3.5 or newer")
    if isinstance(data, dict) and "probe_version" in data:
        data = _validated_probe_output(data, f"{label}: the probe's output")
        data.setdefault("how", {})["probe"] = f"{exe} -c <source of rknn_envcheck/probes/host_probe.py> (exit code {returncode})"
        if returncode != 0:
            data.setdefault("errors", []).append({"section": "probe", "problem": f"exit code {returncode} after printing its facts: {_excerpt(err_text)}"})
        return data
    if not text and "SyntaxError" in err_text:
        raise UsageError(f"{label}: {exe} could not parse the probe (SyntaxError): it is not a Python 3.5+ interpreter (Python 2 is not supported)")
    if not text:
        detail = _excerpt(err_text) if err_text else "nothing on stderr either"
        raise UsageError(f"{label}: {exe} printed nothing (exit code {returncode}): {detail}; is it a Python 3 interpreter?")
    raise UsageError(f"{label}: {exe} printed something that is not the probe's JSON (exit code {returncode}): {_excerpt(text)!r}; is it a Python interpreter?")


def _validated_probe_output(data: dict, source: str) -> dict:
    """The probe's JSON checked by the code that checks facts files (the facts model and its
    limits). Lone surrogates (undecodable bytes in os.environ or file names) and over-long
    strings are first repaired the way --save-facts repairs them: one odd environment variable
    must not make the whole environment unreadable."""
    from rknn_envcheck.facts import within_limits
    from rknn_envcheck.facts_check import validate
    from rknn_envcheck.facts_model import ProbeOutput

    data = within_limits(data)
    validate(data, ProbeOutput, source)
    return data
