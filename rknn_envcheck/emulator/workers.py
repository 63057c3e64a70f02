"""Where a board's command line runs: on the event loop when it is provably cheap, else in a worker.

A command line stays on the event loop only when it is short (<= 4 KiB), writes no file, expands
no glob and uses only tools whose cost is linear in what they print (IN_PROCESS_TOOLS: no regex
engine, no directory scan); it then runs with a 256 KiB budget and is re-run in a worker when it
needs more (it has no side effects, so running it again is safe). Everything else (grep, strings,
ls, test, sh -c, ...) runs in a pool of worker processes (worker.py) with RLIMIT_CPU per command.
docs/decisions.md has the measurements.

Like a board's kernel, which runs every shell as its own process, the pool keeps one spare worker
warm: when the last idle one is taken, another starts (up to Limits.max_workers), and workers
above the base count retire once idle. Jobs queue per client (one TCP connection), are taken
round-robin, and one client never holds more than all-but-one worker. A client burning CPU
therefore delays nobody else, not even another adb client on the same transport.
"""
from __future__ import annotations

import asyncio
import collections
import logging
import os
import pickle
import re
import signal
import sys
from typing import Deque, Dict, List, Optional

import rknn_envcheck
from rknn_envcheck.emulator.board import BoardState
from rknn_envcheck.emulator.limits import Limits
from rknn_envcheck.emulator.shell import Execution, ShellSyntaxError, parse
from rknn_envcheck.emulator.worker import FRAME

log = logging.getLogger("rknn_envcheck.emulator")

IN_PROCESS_TOOLS = frozenset({"true", "false", ":", "echo", "printf", "exit", "cd", "pwd", "export", "uname",
                              "getprop", "id", "pidof", "ps", "lsmod", "dmesg", "python3", "sleep", "which",
                              "command", "cat"})
MAX_IN_PROCESS_COMMAND = 4096
STATUS_CPU_LIMIT = 128 + signal.SIGXCPU if hasattr(signal, "SIGXCPU") else 152
RETIRE_AFTER = 30.0
_SURELY_WORKER = re.compile(r"grep|strings|\bls\b|\btest\b|\bsh\b")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_BOOT = ("import sys; sys.path.insert(0, {root!r}); "
         "from rknn_envcheck.emulator.worker import main; sys.exit(main())")


def _literal(word) -> Optional[str]:
    return "".join(text for _, text, _ in word.segments) if all(kind == "lit" for kind, _, _ in word.segments) else None


def runs_in_process(command: str) -> bool:
    """True when every simple command of the line is a pure lookup with bounded cost (see module doc)."""
    return in_process_program(command) is not None


def in_process_program(command: str) -> Optional[list]:
    """The parsed line when it may run on the event loop, else None (see runs_in_process)."""
    if len(command) > MAX_IN_PROCESS_COMMAND or _SURELY_WORKER.search(command):
        return None  # decided without parsing: the probe's 3 KB batch would cost a parse here and one there
    try:
        program = parse(command)
    except ShellSyntaxError:
        return []  # answered with `sh: syntax error` by the run itself, nothing runs
    for _, pipeline in program:
        for cmd in pipeline:
            if any(kind == "lit" and not quoted and any(c in text for c in "*?[")
                   for word in cmd.words for kind, text, quoted in word.segments):
                return None
            names = [w for w in cmd.words if not (w.segments and w.segments[0][0] == "lit" and not w.segments[0][2]
                                                   and _ASSIGNMENT.match(w.segments[0][1]))]
            if names:
                name = _literal(names[0])
                if name not in IN_PROCESS_TOOLS:
                    return None
                if name == "command" and (len(names) < 2 or _literal(names[1]) != "-v"):
                    return None
            for r in cmd.redirs:
                if r.op in (">", ">>") and _literal(r.target) != "/dev/null":
                    return None
    return program


class WorkerDied(Exception):
    pass


class Worker:
    """One worker process and what it already holds (board key -> filesystem generation)."""

    def __init__(self, process: asyncio.subprocess.Process):
        self.process = process
        self.known: Dict[str, int] = {}
        self.idle_since = 0.0

    @classmethod
    async def start(cls, timeout: float = 60.0) -> "Worker":
        root = os.path.dirname(os.path.dirname(os.path.abspath(rknn_envcheck.__file__)))
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-I", "-c", _BOOT.format(root=root), stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, start_new_session=True)
        worker = cls(process)
        try:
            await asyncio.wait_for(worker.receive(1 << 16), timeout)
        except (WorkerDied, asyncio.TimeoutError):
            worker.kill()
            err = await process.stderr.read(4000) if process.stderr else b""
            lines = err.decode("utf-8", "replace").strip().splitlines() or [f"no answer within {timeout:g} s"]
            raise WorkerDied(f"a shell worker ({sys.executable}) did not start: {lines[-1]}") from None
        return worker

    async def request(self, message: dict, reply_limit: int) -> dict:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self.process.stdin.write(FRAME.pack(len(data)) + data)
            await self.process.stdin.drain()
        except (ConnectionError, BrokenPipeError) as exc:
            raise WorkerDied(str(exc)) from None
        return await self.receive(reply_limit)

    async def receive(self, limit: int) -> dict:
        try:
            header = await self.process.stdout.readexactly(FRAME.size)
            size = FRAME.unpack(header)[0]
            if size > limit:
                raise WorkerDied(f"reply of {size} bytes is larger than any answer can be")
            return pickle.loads(await self.process.stdout.readexactly(size))
        except (asyncio.IncompleteReadError, ConnectionError, pickle.UnpicklingError, EOFError):
            raise WorkerDied("the worker ended") from None

    def kill(self) -> None:
        if self.process.returncode is None:
            try:
                self.process.kill()
            except ProcessLookupError:
                pass
        if self.process.stdin is not None and not self.process.stdin.is_closing():
            self.process.stdin.close()


class Job:
    __slots__ = ("state", "command", "future")

    def __init__(self, state: BoardState, command: str, future: asyncio.Future):
        self.state, self.command, self.future = state, command, future


class WorkerPool:
    def __init__(self, limits: Limits):
        self.limits = limits
        self.size = limits.worker_count
        self.max_workers = max(self.size, limits.max_workers)
        self.per_client = max(1, self.max_workers - 1)
        self.idle: List[Worker] = []
        self.all: List[Worker] = []
        self.queues: "collections.OrderedDict[object, Deque[Job]]" = collections.OrderedDict()
        self.running: Dict[object, int] = collections.Counter()
        self.broken: Optional[str] = None
        self.closed = False
        self.spawning = 0
        self.reply_limit = limits.board_storage_bytes + 2 * limits.shell_output_bytes + (1 << 20)

    def start(self) -> None:
        """Start the workers in the background; jobs wait for the first one ready."""
        for _ in range(self.size - len(self.all) - self.spawning):
            self._spawn()

    def _spawn(self) -> None:
        self.spawning += 1
        asyncio.ensure_future(self._spawned())

    async def _spawned(self) -> None:
        try:
            worker = await Worker.start()
        except (WorkerDied, OSError) as exc:
            self.spawning -= 1
            if self.broken is None:
                self.broken = str(exc)
                log.error("%s; commands that need a worker are answered with an error", exc)
            self._fail_queued()
            return
        self.spawning -= 1
        if self.closed:
            worker.kill()
            return
        self.all.append(worker)
        self.idle.append(worker)
        self._dispatch()

    async def run(self, state: BoardState, command: str, client: object) -> Execution:
        if self.broken is not None and not self.all:
            return _failed(f"sh: the emulator could not start a shell worker: {self.broken}\n", 126, self.broken)
        if not self.all and not self.spawning:
            self.start()
        future = asyncio.get_running_loop().create_future()
        self.queues.setdefault(client, collections.deque()).append(Job(state, command, future))
        self._dispatch()
        return await future  # cancelled with its stream: a queued job is skipped, a running one finishes

    def _dispatch(self) -> None:
        if self.queues and not self.idle:
            self._grow()
        while self.idle and self.queues:
            for client in list(self.queues):
                if self.running[client] < self.per_client:
                    break
            else:
                return
            queue = self.queues.pop(client)
            job = queue.popleft()
            if queue:
                self.queues[client] = queue  # to the back: round-robin between clients
            if job.future.done():
                continue
            self.running[client] += 1
            asyncio.ensure_future(self._run_on(self.idle.pop(), client, job))
            if not self.idle:
                self._grow()

    def _retire(self) -> None:
        """Workers above the base count go once they sat idle for RETIRE_AFTER seconds."""
        now = asyncio.get_running_loop().time()
        for worker in sorted(self.idle, key=lambda w: w.idle_since):
            if len(self.all) <= self.size or now - worker.idle_since < RETIRE_AFTER:
                break
            self.idle.remove(worker)
            self.all.remove(worker)
            worker.kill()

    def _grow(self) -> None:
        """Keep a spare: a command that arrives while the others run must not wait for one to end."""
        if not self.closed and self.broken is None and len(self.all) + self.spawning < self.max_workers and not self.spawning:
            self._spawn()

    async def _run_on(self, worker: Worker, client: object, job: Job) -> None:
        try:
            result = await self._execute(worker, job)
        except WorkerDied as exc:
            result = await self._replace(worker, exc)
        except BaseException:
            worker.kill()  # cancelled while it ran (shutdown): its state is unknown
            self.all.remove(worker)
            raise
        else:
            worker.idle_since = asyncio.get_running_loop().time()
            self.idle.append(worker)
            if len(self.all) > self.size:
                asyncio.get_running_loop().call_later(RETIRE_AFTER + 0.1, self._retire)
        finally:
            self.running[client] -= 1
            if not self.running[client]:
                del self.running[client]
        if not job.future.done():
            job.future.set_result(result)
        self._dispatch()

    async def _execute(self, worker: Worker, job: Job) -> Execution:
        state, fs, limits = job.state, job.state.fs, self.limits
        generation = fs.generation
        message = {"key": state.key, "command": job.command, "cpu": limits.shell_cpu_seconds,
                   "budget": limits.shell_output_bytes, "setup": None,
                   "changes": None if worker.known.get(state.key) == generation else dict(fs.changes)}
        wall = limits.shell_cpu_seconds * 5 + 10  # backstop for a worker stuck outside the CPU limit
        timer = asyncio.get_running_loop().call_later(wall, worker.kill)  # cheaper than wait_for per job
        try:
            reply = await worker.request(message, self.reply_limit)
            if reply.get("need_setup"):
                message.update(setup=(state.profile, state.faults, fs.limits), changes=dict(fs.changes))
                reply = await worker.request(message, self.reply_limit)
        finally:
            timer.cancel()
        if "error" in reply:
            worker.known.pop(state.key, None)
            return _failed(f"sh: the emulated shell failed: {reply['error']}\n", 2, f"a shell worker failed: {reply['error']}")
        fs.apply(reply["journal"])
        if fs.generation == generation + (1 if reply["journal"] else 0):
            worker.known[state.key] = fs.generation
        else:
            worker.known.pop(state.key, None)  # another write landed meanwhile: resend next time
        return Execution(reply["events"], reply["status"], reply["commands"], reply["problem"], reply["capped"])

    async def _replace(self, worker: Worker, exc: WorkerDied) -> Execution:
        worker.kill()
        status = await worker.process.wait()
        self.all.remove(worker)
        if not self.closed:
            self._spawn()
        cpu = self.limits.shell_cpu_seconds
        if hasattr(signal, "SIGXCPU") and status == -signal.SIGXCPU:
            return _failed(f"sh: CPU time limit exceeded: the emulated board allows {cpu} s of CPU per command line "
                           f"(--shell-cpu-seconds)\n", STATUS_CPU_LIMIT,
                           f"a command line used more than {cpu} s of CPU; its worker process was replaced")
        return _failed(f"sh: the emulated shell stopped ({exc}; exit status {status})\n", 2,
                       f"a shell worker stopped ({exc}; exit status {status}) and was replaced")

    def _fail_queued(self) -> None:
        if self.all or self.spawning:
            return
        for queue in self.queues.values():
            for job in queue:
                if not job.future.done():
                    job.future.set_result(_failed(f"sh: the emulator could not start a shell worker: {self.broken}\n", 126, None))
        self.queues.clear()

    async def close(self) -> None:
        self.closed = True
        for worker in self.all:
            worker.kill()
        for worker in list(self.all):
            try:
                await asyncio.wait_for(worker.process.wait(), 5)
            except asyncio.TimeoutError:
                pass
        self.all.clear()
        self.idle.clear()


def _failed(message: str, status: int, problem: Optional[str]) -> Execution:
    return Execution([("err", message.encode())], status, 0, problem)


class ShellRunner:
    """Runs a board's command line for the ADB server: on the loop when cheap, else in the pool."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.pool = WorkerPool(limits)

    def execute_now(self, state: BoardState, command: str) -> Optional[Execution]:
        """The answer when the line may run on the event loop (see runs_in_process), else None."""
        program = in_process_program(command)
        if program is None:
            return None
        result = state.run(command, self.limits.in_process_bytes, program or None)
        if result.capped and self.limits.in_process_bytes < self.limits.shell_output_bytes:
            return None  # no side effects (no file writes): the worker may run it again with the full budget
        return state.finish(result, command)

    async def execute(self, state: BoardState, command: str, client: object) -> Execution:
        result = self.execute_now(state, command)
        if result is None:
            result = state.finish(await self.pool.run(state, command, client), command)
        return result

    async def close(self) -> None:
        await self.pool.close()
