"""Gather the `host` facts: the Python environment (via host_probe), USB, processes and tools.

For the running interpreter the probe is imported and called in-process (about 40 ms faster than
starting a second interpreter: the measurement is in docs/host.md). For `--python PATH` the
probe's source is handed to PATH with `-c`, so nothing is installed into the target environment;
this is the pattern pipdeptree uses for `--python`.

USB, process and tool discovery do not depend on the target interpreter and mostly wait on the
kernel or on child processes, so they run in threads while the probe runs.
"""
from __future__ import annotations

import os
import sys
import threading
import time

from rknn_envcheck.probes.host_run import (  # the probe runner lives in host_run; its public names are re-exported
    PROBE_FILE,
    _parse_probe_output,  # noqa: F401 (tests import it from here)
    _ProbeProcess,
    probe_command_code,
    probe_source,
    run_probe,
)

__all__ = ["PROBE_FILE", "HostGathering", "gather_host", "probe_command_code", "probe_in_process", "probe_source", "run_probe",
           "start_gather_host"]


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
                 system: bool = True, label: str | None = None, probe: bool = True):
        self.python = python
        self.timeout = timeout
        # probe=False: the system scans alone (host --all-pythons gathers them once for every environment)
        self.probe_wanted = probe
        # Started first: the other interpreter runs on another core while this one keeps working.
        self.probe = _ProbeProcess(python, timeout, label) if python is not None and probe else None
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
        probe = self.probe.result() if self.probe is not None else probe_in_process() if self.probe_wanted else {"how": {}}
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
                system: bool = True, label: str | None = None) -> dict:
    """The `host` facts dict (see docs/host.md for every key and how it is obtained).

    `python`: None = this interpreter; else the path (or PATH name) of another interpreter.
    `matrix`: a Matrix, or a zero-argument callable returning one (read only if a Rockchip USB
    device needs the mode table); None = the shipped matrix.
    `system`: also gather USB, processes, tools and udev (False for probe-only tests).
    Raises UsageError (exit 2) when --python cannot be probed.
    """
    return HostGathering(python, timeout, usb_backend=usb_backend, matrix=matrix, system=system, label=label).result()


def _merge(host: dict, how: dict, name: str, result) -> None:
    if result is None:
        return
    if name == "usb":
        if result.get("devices") is not None:
            host["usb"] = result["devices"]
        if result.get("error"):
            host["usb_error"] = result["error"]
        if result.get("usb_bus"):
            host["usb_bus"] = result["usb_bus"]  # "absent": no USB bus at all (container, CI)
        if result.get("device_tree_how"):
            # read beside sysfs: which board an aarch64 host is (the npu_transfer_proxy rule)
            if result.get("device_tree_compatible") is not None:
                host["device_tree_compatible"] = result["device_tree_compatible"]
            how["device_tree_compatible"] = result["device_tree_how"]
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
