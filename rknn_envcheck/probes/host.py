"""Gather the `host` facts: the Python environment (via host_probe), USB, processes and tools.

For the running interpreter the probe is imported and called in-process (about 40 ms faster than
starting a second interpreter: the measurement is in docs/host.md). For `--python PATH` the
probe's source is handed to PATH with `-c`, so nothing is installed into the target environment;
this is the pattern pipdeptree uses for `--python`.

USB, process and tool discovery do not depend on the target interpreter and mostly wait on the
kernel or on child processes, so they run in threads while the probe runs.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from functools import lru_cache
from pathlib import Path

from rknn_envcheck.errors import UsageError

PROBE_FILE = Path(__file__).with_name("host_probe.py")
MIN_PYTHON = (3, 5)
# Keep the message short: it ends up in a one-line CLI error.
_EXCERPT = 160

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


def _resolve_python(python: str) -> str:
    """An existing file path for --python, or UsageError naming what is wrong with it."""
    label = f"--python {python}"
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

    def __init__(self, python: str, timeout: float):
        self.exe = _resolve_python(python)
        self.label = f"--python {python}"
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

    def result(self) -> dict:
        remaining = max(0.05, self.timeout - (time.perf_counter() - self.started))
        try:
            out, err = self.proc.communicate(timeout=remaining)
        except subprocess.TimeoutExpired:
            self.stop()
            raise UsageError(f"{self.label}: {self.exe} did not answer within {self.timeout:g} s and was stopped; "
                             "is it a Python interpreter? (a hanging sitecustomize.py or .pth file also does this)") from None
        elapsed_ms = (time.perf_counter() - self.started) * 1000
        return _parse_probe_output(self.label, self.exe, self.proc.returncode, out, err, elapsed_ms)

    def stop(self) -> None:
        _kill_tree(self.proc)
        try:
            self.proc.communicate(timeout=2)
        except subprocess.TimeoutExpired:
            pass


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
            data = json.loads(last_line)
        except ValueError:
            data = None
    if isinstance(data, dict) and "unsupported_python" in data:
        version = str(data["unsupported_python"])
        if version.startswith("2."):
            raise UsageError(f"{label}: {exe} is Python {version}; Python 2 is not supported (every rknn-toolkit and rknn-toolkit2 wheel is built for Python 3). "
                             "Point --python at the Python 3 interpreter of your RKNN environment.")
        raise UsageError(f"{label}: {exe} is Python {version}; the probe needs Python 3.5 or newer")
    if isinstance(data, dict) and "probe_version" in data:
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


def probe_in_process() -> dict:
    """The probe run in this interpreter: same facts, no second interpreter start-up."""
    from rknn_envcheck.probes import host_probe

    # sys.path[0] is this program's own directory (console script, -m, -c), not part of the
    # environment a user's program sees; the subprocess path drops the same entry.
    entries = [p for p in (sys.path if getattr(sys.flags, "safe_path", False) else sys.path[1:]) if p not in ("", ".")]
    started = time.perf_counter()
    data = host_probe.collect(entries)
    data["how"]["probe"] = f"rknn_envcheck.probes.host_probe.collect() in this process ({sys.executable}, {(time.perf_counter() - started) * 1000:.0f} ms)"
    return data


class _Background(threading.Thread):
    """A gatherer run in a thread; its exception is kept as an error string, never raised."""

    def __init__(self, name: str, func):
        super().__init__(name=f"rknn-envcheck-{name}", daemon=True)
        self.func = func
        self.result = None
        self.error: str | None = None

    def run(self) -> None:
        try:
            self.result = self.func()
        except Exception as exc:  # a broken gatherer becomes a recorded error; the rest still runs
            self.error = f"{type(exc).__name__}: {exc}"


# udev's rules directories (the same list as rknn_envcheck.udev.scan.RULES_DIRS, kept here so the
# quick pre-check below needs no import of the rules parser).
_UDEV_DIRS = ("/etc/udev/rules.d", "/run/udev/rules.d", "/usr/local/lib/udev/rules.d", "/usr/lib/udev/rules.d", "/lib/udev/rules.d")


def _no_rules_file_mentions_2207(directories=_UDEV_DIRS) -> bool:
    """True when no *.rules file contains the text 2207 at all: the full scan would find nothing,
    and importing and running the rules parser costs ~10 ms of the run. Any unreadable file means
    "let the real scan look" (it reports read errors)."""
    for directory in directories:
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        for name in names:
            if not name.endswith(".rules"):
                continue
            try:
                with open(os.path.join(directory, name), "rb") as handle:
                    if b"2207" in handle.read():
                        return False
            except OSError:
                return False
    return True


def _scan_udev():
    """udev rules files mentioning 2207, from rknn_envcheck.udev.scan; None (key left out) without it."""
    if _no_rules_file_mentions_2207():
        return []
    from rknn_envcheck.udev.scan import scan_rules

    return scan_rules()


class HostGathering:
    """Host facts being gathered: the probe interpreter and the system scans start at once, so a
    caller can do its own work (load the matrix, import the rules) while they run."""

    def __init__(self, python: str | None = None, timeout: float = 10.0, *, usb_backend=None, matrix=None,
                 system: bool = True):
        self.python = python
        self.timeout = timeout
        # Started first: the other interpreter runs on another core while this one keeps working.
        self.probe = _ProbeProcess(python, timeout) if python is not None else None
        self.background: list[_Background] = []
        if system:
            from rknn_envcheck.probes import processes, tools, usb

            self.background = [
                _Background("usb", lambda: usb.scan_usb(backend=usb_backend, matrix=matrix)),
                _Background("processes", lambda: processes.scan_processes(timeout=min(timeout, 3.0))),
                _Background("tools", lambda: tools.scan_tools(timeout=min(timeout, 3.0))),
            ]
            if sys.platform.startswith("linux"):
                # Imported inside the thread: the udev parser's imports are not free either.
                self.background.append(_Background("udev", _scan_udev))
            for worker in self.background:
                worker.start()

    def result(self) -> dict:
        started = time.monotonic()
        probe = self.probe.result() if self.probe is not None else probe_in_process()
        host = dict(probe)
        how = host.setdefault("how", {})
        host["probe_errors"] = host.pop("errors", [])
        host.pop("probe_version", None)
        deadline = started + self.timeout
        for worker in self.background:
            worker.join(timeout=max(0.0, deadline - time.monotonic()))
            name = worker.name.rsplit("-", 1)[-1]
            if worker.is_alive():
                host["probe_errors"].append({"section": name, "problem": f"did not finish within {self.timeout:g} s"})
                continue
            if worker.error:
                host["probe_errors"].append({"section": name, "problem": worker.error})
                continue
            _merge(host, how, name, worker.result)
        return host


def start_gather_host(python: str | None = None, timeout: float = 10.0, **options) -> HostGathering:
    """Start gathering; `.result()` returns the host facts. Raises UsageError at once for a bad --python."""
    return HostGathering(python, timeout, **options)


def gather_host(python: str | None = None, timeout: float = 10.0, *, usb_backend=None, matrix=None,
                system: bool = True) -> dict:
    """The `host` facts dict (see docs/host.md for every key and how it is obtained).

    `python`: None = this interpreter; else the path (or PATH name) of another interpreter.
    `matrix`: a Matrix, or a zero-argument callable returning one (read only if a Rockchip USB
    device needs the mode table); None = the shipped matrix.
    `system`: also gather USB, processes, tools and udev (False for probe-only tests).
    Raises UsageError (exit 2) when --python cannot be probed.
    """
    return HostGathering(python, timeout, usb_backend=usb_backend, matrix=matrix, system=system).result()


def _merge(host: dict, how: dict, name: str, result) -> None:
    if result is None:
        return
    if name == "usb":
        if result.get("devices") is not None:
            host["usb"] = result["devices"]
        if result.get("error"):
            host["usb_error"] = result["error"]
        how["usb"] = result.get("how", "pyusb")
        if result.get("modes_from"):
            how["usb.mode"] = result["modes_from"]
    elif name == "processes":
        for key in ("processes", "process_details", "adb_server", "adb_servers", "security_software"):
            if key in result:
                host[key] = result[key]
        if result.get("error"):
            host["processes_error"] = result["error"]
        how["processes"] = result.get("how", "psutil")
    elif name == "tools":
        for key in ("gcc", "gcc_path", "cc_path", "adb"):
            if key in result:
                host[key] = result[key]
        how.update(result.get("how", {}))
    elif name == "udev":
        host["udev"] = result
        how["udev"] = ("rknn_envcheck.udev.scan.scan_rules()" if result else
                       f"no *.rules file in {', '.join(_UDEV_DIRS)} contains 2207")
