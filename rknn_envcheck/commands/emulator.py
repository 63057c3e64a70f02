"""`rknn-envcheck emulator list | serve | demo | from-facts | sysroot`: emulated boards for users and tests."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from rknn_envcheck.errors import UsageError

DEMO_PROFILES = ["rk1808-1.7.5", "rk3588-2.3.2", "rk3588-mixed-server-runtime"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from rknn_envcheck.options import output_path

    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    p = sub.add_parser("list", help="list the shipped board profiles (and the faults with --faults)")
    p.add_argument("--faults", action="store_true", help="list the injectable faults instead")
    p = sub.add_parser("serve", help="serve profiles over the ADB protocol on 127.0.0.1 until Ctrl-C")
    p.add_argument("profiles", nargs="+", metavar="PROFILE", help="profile name (see `emulator list`) or path to a .toml file")
    p.add_argument("--port", type=int, default=0, help="first port (next boards take the following ports); default: any free port")
    p.add_argument("--fault", action="append", default=[], metavar="F", help="inject a fault into every served board (repeatable), e.g. hang, slow=500")
    p.add_argument("--stats", metavar="FILE", help="keep FILE updated with each board's counters (JSON)")
    _add_limit_arguments(p)
    p = sub.add_parser("demo", help="private adb server + a few emulated boards + the doctor, then tear down")
    p.add_argument("profiles", nargs="*", metavar="PROFILE", help=f"profiles to serve (default: {' '.join(DEMO_PROFILES)})")
    _add_limit_arguments(p)
    p = sub.add_parser("from-facts", help="turn a saved facts file's board into a profile (replay a reported board)")
    p.add_argument("facts", metavar="FACTS.json")
    p.add_argument("-o", "--output", required=True, metavar="PROFILE.toml", type=output_path)
    p.add_argument("--serial", help="which device of the facts file (needed when it holds several)")
    p.add_argument("--force", action="store_true", help="overwrite PROFILE.toml if it exists")
    p = sub.add_parser("sysroot", help="write a profile's files to DIR (for `device --local --sysroot DIR`)")
    p.add_argument("profile", metavar="PROFILE")
    p.add_argument("dir", metavar="DIR")


IDLE_TIMEOUT_MAX_S = 86400.0  # a day: idle connections are closed well before it by any client's keepalive


def _add_limit_arguments(parser: argparse.ArgumentParser) -> None:
    from rknn_envcheck.emulator.limits import Limits
    from rknn_envcheck.options import seconds

    d = Limits()
    g = parser.add_argument_group("limits", "what clients may use; see docs/emulator.md (Limits)")
    g.add_argument("--max-connections", type=int, metavar="N",
                   help=f"open connections for all boards together; more are closed at once (default {d.max_connections})")
    g.add_argument("--handshake-timeout", type=seconds(), metavar="S", help=f"seconds a new connection has to send CNXN (default {d.handshake_timeout:g})")
    g.add_argument("--idle-timeout", type=seconds(IDLE_TIMEOUT_MAX_S), metavar="S",
                   help=f"close a connection without packets, streams or TCP keepalives for S seconds (default {d.idle_timeout:g})")
    g.add_argument("--shell-cpu-seconds", type=int, metavar="S", help=f"CPU time of one shell command line (default {d.shell_cpu_seconds})")
    g.add_argument("--shell-output-cap", metavar="SIZE", help="bytes one command line may produce, e.g. 16M (default 8M)")
    g.add_argument("--sync-file-cap", metavar="SIZE", help="largest file adb push may write, e.g. 64M (default 64M)")
    g.add_argument("--shell-workers", type=int, metavar="N", help="shell worker processes (default: CPUs, 2 to 4)")


def _limits(args):
    """Limits from the flags, the open-file limit raised (or the connection count lowered) to fit."""
    from rknn_envcheck.emulator.limits import Limits, parse_size

    values = {"max_connections": args.max_connections, "handshake_timeout": args.handshake_timeout,
              "idle_timeout": args.idle_timeout, "shell_cpu_seconds": args.shell_cpu_seconds,
              "workers": args.shell_workers,
              "shell_output_bytes": parse_size(args.shell_output_cap, "--shell-output-cap") if args.shell_output_cap else None,
              "sync_file_bytes": parse_size(args.sync_file_cap, "--sync-file-cap") if args.sync_file_cap else None}
    limits = Limits(**{k: v for k, v in values.items() if v is not None})
    if args.shell_workers == 0:
        raise UsageError("--shell-workers: at least 1 (commands that may be slow run only in workers)")
    fitting = _fit_open_files(limits.open_files_needed)
    if fitting < limits.open_files_needed:
        lowered = max(1, fitting - (limits.open_files_needed - limits.max_connections))
        print(f"rknn-envcheck emulator: the open-file limit (ulimit -n) is {fitting}: --max-connections lowered "
              f"from {limits.max_connections} to {lowered}; raise `ulimit -n` to serve more", file=sys.stderr)
        from rknn_envcheck.records import replace

        limits = replace(limits, max_connections=lowered)
    return limits


def _fit_open_files(needed: int) -> int:
    try:
        import resource
    except ImportError:
        return needed
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return needed
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    except (ValueError, OSError):
        return soft


def _log_to_stderr() -> None:
    """One line per event on stderr (`rknn-envcheck emulator: ...`), never a traceback."""
    import logging

    from rknn_envcheck.emulator.server import LOG_FORMAT

    logger = logging.getLogger("rknn_envcheck.emulator")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def run(args) -> int:
    return {"list": _list, "serve": _serve, "demo": _demo, "from-facts": _from_facts, "sysroot": _sysroot}[args.action](args)


def _list(args) -> int:
    if args.faults:
        from rknn_envcheck.emulator.faults import FAULTS

        for name, (takes, meaning) in FAULTS.items():
            label = name + ("=MS" if takes is True else "[=NAME]" if takes is None else "")
            print(f"{label:<22} {meaning}")
        return 0
    from rknn_envcheck.emulator.profile import load_profile, shipped_profiles

    rows = [load_profile(name) for name in shipped_profiles()]
    width = max(len(p.name) for p in rows)
    print(f"{'PROFILE':<{width}}  {'CHIP':<9} {'OS':<7} {'EXPECT':<6} {'JUDGED AGAINST':<22} DESCRIPTION")
    for p in rows:
        print(f"{p.name:<{width}}  {p.chip:<9} {p.os:<7} {p.expect_status:<6} {p.meta['toolkit']:<22} {p.meta['description']}")
    print(f"\n{len(rows)} profiles. Serve one: rknn-envcheck emulator serve {rows[0].name}  (faults: emulator list --faults)")
    return 0


def _load_all(names, fault_specs):
    from rknn_envcheck.emulator.faults import parse_faults
    from rknn_envcheck.emulator.profile import load_profile

    faults = parse_faults(fault_specs)
    return [load_profile(name) for name in names], faults


def _serve(args) -> int:
    import asyncio
    import signal

    from rknn_envcheck.emulator.board import BoardState
    from rknn_envcheck.emulator.server import EMULATOR_PORTS, Runtime, ServedBoard, quiet_exception_handler

    profiles, faults = _load_all(args.profiles, args.fault)
    limits = _limits(args)
    _log_to_stderr()
    if args.port:
        wanted = range(args.port, args.port + len(profiles))
        if not 1024 <= args.port <= 65535 - len(profiles):
            raise UsageError(f"--port {args.port}: choose a port between 1024 and 65535")
        if any(p in EMULATOR_PORTS for p in wanted) or 5037 in wanted:
            raise UsageError(f"--port {args.port}: ports 5555-5585 (scanned by adb servers as emulators) and 5037 (the adb server) are not allowed; omit --port for free ports")

    async def main() -> None:
        boards = []
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        loop.set_exception_handler(quiet_exception_handler)
        runtime = Runtime(limits)
        runtime.runner.pool.start()  # the shell workers start while the boards bind
        try:
            for i, profile in enumerate(profiles):
                board = ServedBoard(BoardState(profile, faults, limits), runtime)
                try:
                    await board.start(args.port + i if args.port else 0)
                except OSError as exc:
                    raise UsageError(f"cannot listen on 127.0.0.1:{args.port + i}: {exc.strerror or exc}") from None
                boards.append(board)
                fault_text = f"  faults: {','.join(board.state.faults.specs())}" if board.state.faults.active else ""
                print(f"{profile.name:<30} listening on {board.address}   adb connect {board.address}{fault_text}", flush=True)
            print(f"serving {len(boards)} board(s); Ctrl-C or SIGTERM stops", flush=True)
            writer = asyncio.ensure_future(_stats_writer(args.stats, boards, stop)) if args.stats else None
            await stop.wait()
            if writer is not None:
                await writer
        finally:
            for board in boards:
                await board.close()
            await runtime.close()
            for board in boards:
                print(f"{board.name}: {json.dumps(board.stats.as_dict())}", flush=True)

    asyncio.run(main())
    return 0


def _stats_snapshot(boards) -> dict:
    return {"boards": [{"profile": b.name, "address": b.address, "faults": b.state.faults.specs(),
                        "stats": b.stats.as_dict()} for b in boards]}


async def _stats_writer(path: str, boards, stop) -> None:
    """Rewrite `path` atomically whenever a counter changed (checked every 0.1 s) and at the end."""
    import asyncio

    from rknn_envcheck.safeio import write_text

    last = None
    while True:
        snapshot = _stats_snapshot(boards)
        if snapshot != last:
            write_text(path, json.dumps(snapshot, indent=1) + "\n")
            last = snapshot
        if stop.is_set():
            return
        try:
            await asyncio.wait_for(stop.wait(), 0.1)
        except asyncio.TimeoutError:
            pass


def _demo(args) -> int:
    from rknn_envcheck.emulator.adbserver import PrivateAdbServer
    from rknn_envcheck.emulator.server import EmulatorHost

    profiles, faults = _load_all(args.profiles or DEMO_PROFILES, [])
    limits = _limits(args)
    _log_to_stderr()
    started = time.monotonic()
    with PrivateAdbServer() as adb, EmulatorHost(limits) as host:
        print(f"private adb server: {adb.adb} on 127.0.0.1:{adb.port} (not your 5037)")
        boards = [host.serve(p, faults) for p in profiles]
        try:
            for board in boards:
                from rknn_envcheck.render.common import clean  # adb's answer and profile names are outside text

                print(clean(f"  {board.name:<30} {board.address}: {adb.connect(board.address)}"))
            env = dict(adb.env, ANDROID_ADB_SERVER_PORT=str(adb.port), ADBUTILS_ADB_PATH=adb.adb)
            env["HOME"] = os.environ.get("HOME", adb.home)  # the doctor looks at the user's Python, not adb's HOME
            command = [sys.executable, "-m", "rknn_envcheck"]
            print(f"\n$ ANDROID_ADB_SERVER_PORT={adb.port} rknn-envcheck\n", flush=True)
            code = subprocess.call(command, env=env)
        finally:
            for board in boards:
                adb.disconnect(board.address)
        print(f"\ndemo finished in {time.monotonic() - started:.1f} s; adb server and boards stopped. "
              f"Round trips served: {', '.join(f'{b.name}={b.stats.round_trips}' for b in boards)}")
    return code


def _from_facts(args) -> int:
    from rknn_envcheck.emulator.from_facts import convert

    out = convert(args.facts, args.output, serial=args.serial, force=args.force)
    print(f"wrote {out}; serve it with: rknn-envcheck emulator serve {out}")
    return 0


def _sysroot(args) -> int:
    from rknn_envcheck.emulator.profile import load_profile
    from rknn_envcheck.emulator.sysroot import materialize

    root = materialize(load_profile(args.profile), args.dir)
    print(f"wrote {root}; inspect it with: rknn-envcheck device --local --sysroot {root}")
    return 0
