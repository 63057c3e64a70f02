"""gather → evaluate → render: the one path every judging command takes.

Facts come from sources (the pip-audit `_dependency_source/` shape): this Python or another one
(`HostSource`), boards over adb, on this board, or emulated (`BoardsSource`, by the board
options), npu_transfer_proxy (`NtbSource`), a saved facts file (`FactsFileSource`), the versions
an error log printed (`LogSource`, explain). Each source says how its facts merge (`merge`):
"replace" — what it observed overwrites what earlier sources gave (boards are added) — or "fill"
— it only fills what the others left, and says where it differs (a log: observed facts win, the
log may be from before an update). Each source is started (its I/O begins, in the background
where it can) and then collected into one facts dict; `evaluate()` judges that dict with the
rules and the matrix, and `commands._common.emit` renders it. A command only parses its options and picks its
sources.
"""
from __future__ import annotations


def __getattr__(name: str):
    # START_EXPLICIT, START_IF_USB (the adb start policies, for commands) come from gather.py on
    # first use: importing it (and concurrent.futures, the facts model) at the top cost explain,
    # which uses this module for its log, ~40 ms of start-up.
    if name in ("START_EXPLICIT", "START_IF_USB"):
        from rknn_envcheck import gather as gathering

        return getattr(gathering, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class FactsSource:
    """Where some facts come from. `start()` may begin I/O in the background; `collect(facts)`
    waits for it and adds what was observed to `facts`. It returns report rows only for what
    the source itself could not do (a crashed board listing): verdicts on facts are rules."""

    kind = "facts"
    live = True  # observed on this PC now (False: read from a file)
    merge = "replace"  # or "fill": see fill() and the module docstring

    def start(self) -> None:
        return None

    def collect(self, facts: dict) -> list:
        raise NotImplementedError

    def fill(self, facts: dict, collected: dict, observed: bool) -> None:
        """A "fill" source's merge: add what it `collected` where `facts` has nothing.
        `observed`: whether any "replace" source was gathered before it."""
        for key, value in collected.items():
            if facts.get(key) in (None, {}, []):
                facts[key] = value


class HostSource(FactsSource):
    """The Python environment (this interpreter, or `python` run with the probe), USB, processes, tools."""

    kind = "host"

    def __init__(self, python: str | None, timeout: float, matrix=None):
        # python None: the user's environment is judged (probes.pythons.default_target), not ours
        self.python, self.timeout, self.matrix = python, timeout, matrix
        self._gathering = None
        self.target = None

    def start(self) -> None:
        if self._gathering is not None:
            return
        from rknn_envcheck.errors import UsageError
        from rknn_envcheck.probes.host import start_gather_host
        from rknn_envcheck.probes.pythons import Target, default_target

        self.target = Target(self.python, f"given with --python {self.python}", "explicit") if self.python is not None else default_target()
        label = None if self.target.kind == "explicit" else f"{self.target.python} ({self.target.reason})"
        try:
            # Raises UsageError at once for a bad --python; the probe runs on another core meanwhile.
            self._gathering = start_gather_host(self.target.python, timeout=self.timeout, matrix=self.matrix, label=label)
        except UsageError as exc:
            if label is None:
                raise
            raise UsageError(f"{exc}; to judge another interpreter, give it with --python PATH") from None

    def collect(self, facts: dict) -> list:
        import sys

        from rknn_envcheck.errors import UsageError

        if self._gathering is None:
            self.start()
        try:
            facts["host"] = self._gathering.result()
        except UsageError as exc:
            if self.target.kind == "explicit":
                raise
            raise UsageError(f"{exc}; to judge another interpreter, give it with --python PATH") from None
        import os

        from rknn_envcheck.probes.pythons import environment_prefix

        python = self.target.python or sys.executable
        facts["judged_environment"] = {"python": python, "prefix": os.path.realpath(environment_prefix(python)),
                                       "reason": self.target.reason, "kind": self.target.kind}
        return []


def gather_every_python(timeout: float, matrix, max_at_once: int = 8):
    """host --all-pythons: every environment holding a toolkit or its frameworks, probed
    concurrently (at most `max_at_once` interpreters), and USB/processes/tools read once for all.
    Returns (found, [(probe facts, None) | (None, why it could not be read)], system facts); one
    bad environment does not stop the others."""
    from concurrent.futures import ThreadPoolExecutor

    from rknn_envcheck.errors import UsageError
    from rknn_envcheck.probes.host import HostGathering, gather_host
    from rknn_envcheck.probes.pythons import discover

    def probe(env):
        try:
            return gather_host(env.python, timeout, system=False, label=f"{env.python} (found in {env.where})"), None
        except UsageError as exc:
            return None, str(exc)

    found = discover()
    system = HostGathering(None, timeout, matrix=matrix, probe=False)
    with ThreadPoolExecutor(max_workers=max(1, min(max_at_once, len(found)))) as pool:
        results = list(pool.map(probe, found))
    return found, results, system.result()


class OtherPythonsSource(FactsSource):
    """The fast candidates — VIRTUAL_ENV, CONDA_PREFIX, every python3 on PATH — whose dist-info
    folder names hold an RKNN toolkit (nothing is run): the doctor says when the toolkit is in
    another Python than the judged one. Read in a thread (stat/listdir: the GIL is released)."""

    kind = "pythons"

    def __init__(self):
        self._thread = None
        self._found: list = []

    def start(self) -> None:
        import threading

        if self._thread is None:
            self._thread = threading.Thread(target=self._scan, name="rknn-envcheck-pythons", daemon=True)
            self._thread.start()

    def _scan(self) -> None:
        import os

        from rknn_envcheck.probes.pythons import discover

        try:
            self._found = [{"python": env.python, "prefix": os.path.realpath(env.prefix), "where": env.where,
                            "holds": {n: v for n, v in env.holds if n.startswith("rknn-toolkit")}}
                           for env in discover(fast=True)]
        except OSError:
            self._found = []  # a hint only: an unreadable folder must not stop the run

    def collect(self, facts: dict) -> list:
        self.start()
        self._thread.join()
        facts["other_pythons"] = [env for env in self._found if env["holds"]]
        return []


class ThisToolkitSource(FactsSource):
    """Only which RKNN toolkit this Python has (metadata, no import): what `device` judges boards for."""

    kind = "host-toolkit"

    def collect(self, facts: dict) -> list:
        from rknn_envcheck.probes.host import probe_in_process
        from rknn_envcheck.rules.toolkit import installed_toolkit

        found = installed_toolkit(probe_in_process())
        if found:
            facts["host"] = {"packages": {found[0]: found[1]}}
        return []


class BoardsSource(FactsSource):
    """Boards chosen by the board options: --emulate (emulated), --local (this board), else the
    adb server's listing (--id, --all; the doctor: every board). The listing itself becomes
    facts["adb"], judged by rules/connection.py like everything else."""

    def __init__(self, args, matrix, *, listing_as_facts: bool = True, **options):
        # listing_as_facts=False: the listing is judged here and returned as rows (explain, which
        # runs no connection rules of its own) instead of being stored in facts["adb"].
        self.args, self.matrix, self.options = args, matrix, options
        self.listing_as_facts = listing_as_facts
        self.kind = "emulated" if getattr(args, "emulate", None) else "local" if getattr(args, "local", False) else "adb"

    def start(self) -> None:
        if self.kind != "adb":
            return
        from rknn_envcheck.boards import adb

        if adb.server_listening(adb.endpoint(getattr(self.args, "adb_host", None), getattr(self.args, "adb_port", None))):
            # Import adbutils before the collecting threads start: it is pure CPU, and under the GIL it
            # would only slow the host gathering down. With no server running it is imported only if
            # the start policy starts one (issue 17 §5).
            adb.load_adbutils()

    def collect(self, facts: dict) -> list:
        from rknn_envcheck.errors import UsageError
        from rknn_envcheck.gather import gather_boards

        try:
            devices, checks = gather_boards(self.args, self.matrix, facts=facts if self.listing_as_facts else None, **self.options)
        except UsageError:
            raise
        except Exception as exc:  # noqa: BLE001 - a bug while gathering boards: a crashed row, the host part stands
            from rknn_envcheck.report import CRASHED, Check

            return [Check("connection.boards", "Boards", CRASHED, subject="connection", component="rknn-envcheck",
                          message=f"listing or inspecting the boards failed ({type(exc).__name__}: {exc}); "
                                  "this is a bug in rknn-envcheck, please report it")]
        facts["devices"] = list(facts.get("devices") or []) + devices
        return list(checks)


class NtbSource(FactsSource):
    """Boards behind npu_transfer_proxy (RK1808 compute sticks, NTB mode)."""

    kind = "ntb"

    def __init__(self, timeout: float):
        self.timeout = timeout

    def collect(self, facts: dict) -> list:
        from rknn_envcheck.gather import ntb_listing

        devices, listing = ntb_listing(self.timeout)
        facts["devices"] = list(facts.get("devices") or []) + devices
        if listing is not None:
            facts["ntb"] = listing
        return []


class FactsFileSource(FactsSource):
    """Facts saved earlier (--save-facts, a user's bug report): validated by the facts model."""

    kind = "facts file"
    live = False

    def __init__(self, path: str):
        self.path = path

    def collect(self, facts: dict) -> list:
        from rknn_envcheck.facts import load_facts

        loaded = load_facts(self.path)
        had_devices = "devices" in facts or "devices" in loaded  # absent stays absent: "not checked"
        devices = list(facts.get("devices") or []) + list(loaded.get("devices") or [])
        facts.update(loaded)
        if had_devices:
            facts["devices"] = devices
        return []


class LogSource(FactsSource):
    """The versions an error log printed (explain): a scan result (explain/scan.py, read before
    the pipeline so grep runs while the rest loads) turned into facts by explain/facts_from_log.py,
    each with how = "log line N". A "fill" source: what the other sources observe wins, the log
    fills the gaps, and `notes` say where the log contradicts itself or what is observed now."""

    kind = "log"
    live = False
    merge = "fill"

    def __init__(self, scanned):
        self.scanned = scanned
        self.notes: list[str] = []
        self.host_observed = False  # whether a replace source gave host facts (explain judges the host then)

    def collect(self, facts: dict) -> list:
        from rknn_envcheck.explain.facts_from_log import facts_from_log

        log_facts, self.notes = facts_from_log(self.scanned)
        facts.update(log_facts)
        return []

    def fill(self, facts: dict, collected: dict, observed: bool) -> None:
        from rknn_envcheck.explain.facts_from_log import merge_facts

        self.host_observed = observed and bool(facts.get("host"))
        merged, notes = merge_facts(facts if observed else None, collected)
        self.notes = self.notes + notes
        facts.clear()  # the caller's dict is the result: filled in place
        facts.update(merged)


def gather(sources: list, facts: dict | None = None) -> tuple[dict, list]:
    """Start every source, then collect them: the "replace" sources concurrently (each mostly
    waits on a child process, a socket or the kernel) and merged in the order given, then the
    "fill" sources in order, each filling what the others left. Returns (facts, rows the
    sources added)."""
    if facts is None:
        from rknn_envcheck.facts import new_facts

        facts = new_facts()
    if any(source.live for source in sources) and not facts.get("hostname"):
        import platform

        # the PC the facts describe: merge tells hosts apart by it, and a replay names it
        facts["hostname"] = platform.node()
    for source in sources:
        source.start()
    replacing = [source for source in sources if source.merge != "fill"]
    rows = _collect_replacing(replacing, facts)
    for source in sources:
        if source.merge == "fill":
            collected: dict = {}
            rows += source.collect(collected)
            source.fill(facts, collected, observed=bool(replacing))
    return facts, rows


def _collect_replacing(sources: list, facts: dict) -> list:
    if len(sources) <= 1:
        return [row for source in sources for row in source.collect(facts)]
    from concurrent.futures import ThreadPoolExecutor

    parts = [{} for _ in sources]
    with ThreadPoolExecutor(max_workers=len(sources)) as pool:
        futures = [pool.submit(source.collect, part) for source, part in zip(sources, parts)]
        rows = [row for future in futures for row in future.result()]
    for part in parts:
        devices = part.pop("devices", None)
        facts.update(part)
        if devices:
            facts["devices"] = list(facts.get("devices") or []) + devices
    return rows
